"""Hand-made face annotations of the shared test photos, found again by a size-free fingerprint.

Each photo is recognised by its aspect ratio and a 16x16 grayscale thumbnail (box-filtered),
so the stand-in server still finds the faces after a client downscales or re-encodes the photo;
the boxes are then scaled to the received size. Boxes were drawn by looking at each photo
(``top, left, width, height`` in the original's pixels); ages and smile values are plausible
guesses, ``identity`` labels say which faces belong to the same person (for Compare).
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

THUMB = 16  # thumbnail side in pixels
MAX_ASPECT_DIFF = 0.03  # relative aspect-ratio tolerance
MAX_THUMB_DIFF = 12.0  # mean absolute grey-level difference (0-255) still called "the same photo"


@dataclass(frozen=True)
class AnnotatedFace:
    """A face box in the annotated photo's pixels, with what the stand-in reports about it."""

    top: int
    left: int
    width: int
    height: int
    identity: str | None
    gender: str
    age: int
    smile: float


@dataclass(frozen=True)
class Photo:
    """A photo the stand-in knows: its size, fingerprint and faces."""

    name: str
    size: tuple[int, int]
    thumb: bytes
    faces: tuple[AnnotatedFace, ...]
    note: str = ""


def thumbnail(image: Image.Image) -> bytes:
    """The 16x16 grayscale box-filtered thumbnail the photos are matched by."""
    grey = image.convert("L").resize((THUMB, THUMB), Image.Resampling.BOX)
    return grey.tobytes()


def distance(a: bytes, b: bytes) -> float:
    """Mean absolute difference of two thumbnails in grey levels."""
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


def find(image: Image.Image, photos: list[Photo]) -> Photo | None:
    """The known photo ``image`` is (possibly resized or re-encoded), or ``None``."""
    w, h = image.size
    aspect = w / h
    candidates = [
        p for p in photos if abs(aspect / (p.size[0] / p.size[1]) - 1.0) <= MAX_ASPECT_DIFF
    ]
    if not candidates:
        return None
    thumb = thumbnail(image)
    best = min(candidates, key=lambda p: distance(thumb, p.thumb))
    return best if distance(thumb, best.thumb) <= MAX_THUMB_DIFF else None


def _hex(*chunks: str) -> bytes:
    return bytes.fromhex("".join(chunks))


SHARED_PHOTOS: tuple[Photo, ...] = (
    Photo(
        'obama.jpg',
        (910, 1137),
        _hex(
            "6463595d789fbfb18daae3a25b71705d6b6a535876867da09fa19f8a55676c52",
            "866c4e557185879ea6899780515d67496c6b49536c77a09ca6889f664e546242",
            "5e59435067717f8e9f7d79584c4c5d3f6174404d616b63a1969969534a444b28",
            "8b6a484b59573dcb99912a304543474789c0413b2f2b2d7f6a291f2226283b57",
            "7193752326293f5e3325251f1a1a3c72975651202527365b251f1e131a1b3ea9",
            "96af221a25242442221d19131d1c233c715023151c1f1b2e1e111f7b73202f37",
            "a7301b3992561d1d1a106b71411f4e2658211e30766d1f201a1c1e1c1a1c7d4d",
            "582c19181115151312121415112250425b614a2316130f0d0905060a0f1c2e42",
        ),
        (
            AnnotatedFace(160, 355, 270, 270, 'obama', 'Male', 51, 97.512),
        ),
        'Official portrait, smiling',
    ),
    Photo(
        'obama2.jpg',
        (626, 1200),
        _hex(
            "1c1f216b361c201e34a3a4a5864240413d842520223c882536b0b3b3893a3f41",
            "2522256e3c222931324c58717f433e43253a25352a31a1b8b0a28f6336393e45",
            "3a79291f245b779f8e8087703e353f3336488184879da6ad97907d7c4e534154",
            "1d2e6397bc956e5b5c786b63736c568a1d2221204792786f63614b7c88586171",
            "232216192555cb714c5aa293242c2b4c2f2220232754a32d35dadb281e1d1b1e",
            "242324242565b43265f36e23391f1e1f242523252475865873cb2323271c1f1f",
            "21232223213c7a666f471e1e17181819181b1b191b1b695e3810180d0c0c1110",
            "2d2e2d2c2c2a423d272223212222242124242324222121211d1d1b1b1b1c1e1e",
        ),
        (
            AnnotatedFace(300, 205, 300, 300, 'obama', 'Male', 47, 12.406),
        ),
        'Speaking at a podium, mouth open (also 32bit.png, the same photo as RGBA PNG)',
    ),
    Photo(
        'biden.jpg',
        (970, 2204),
        _hex(
            "b59c787d869e7b86979fa99d9aa1a7b2d2cda89b8a8b967e777f8fb4a0979f7c",
            "d3cca09da85d77795f64649fa3939cb6d3c99e9b7a455f64524f66716263afc6",
            "c978524a321e1b70644e7148504c85c19c0c060507060b0d39552b1f1a2040b8",
            "6d0e0a0b0506060911300c0d0e152563660c07080b3d50485941100c0e171d12",
            "8e310203030405050d240728140d0d1eb9750401010101030706101f1146b6b2",
            "d443030202020203040a06060c2d9ee99b0c01020202020304030607081a4ecb",
            "390101010101020304020506080e36c00a01010101010202020103060615227c",
            "0200010101010101010101030516528b0500000000000001000101020325efef",
        ),
        (
            AnnotatedFace(255, 415, 275, 275, 'biden', 'Male', 66, 8.215),
        ),
        'Standing, arms crossed, closed-mouth',
    ),
    Photo(
        'obama_and_biden.jpg',
        (2000, 1428),
        _hex(
            "7c998fa091446153577c6a4790a4939a82908b9d91476a505b7f713e94a49093",
            "7f928d9b8a485f4e5f7c854496a68c8a5e7e748a714c6a63645d854a8ba29a95",
            "4868876a514c9c9263796a46686e805f5d5641a5844e9d8ca0728945afa64597",
            "62631d3b76488b7cb7786747694a43a46c7d521b1c1c7a7e9c72762e201d8a9b",
            "567e55751c21709b289263281e869f9545615c5b441c67b42f84502a4e836548",
            "707d827e6d1d6855144e2b2c88aa76466370867c541f281e1a19282aa317143f",
            "71656b822b1f2719962028289b322a3f657c56801b233319982429257f5c4849",
            "40423341171b2017851c23212e63444c38503e3016161b1b5119241d2570381c",
        ),
        (
            AnnotatedFace(430, 770, 200, 200, 'biden', 'Male', 65, 99.104),
            AnnotatedFace(410, 1125, 195, 195, 'obama', 'Male', 47, 63.027),
        ),
        "Waving on stage; Biden's box is slightly the larger",
    ),
    Photo(
        'two_people.jpg',
        (1126, 661),
        _hex(
            "c6d1d5d08be2bbacc891968bb49193a6cac7c6867ca6858ccb9d867e81af9978",
            "cba9ab7066818492c9a0897269a19787bfaaa3745ea0c4c6c8a0736e619c9ecc",
            "b7a6a38a5cb7dfd5c99f55685b7d99d7a3c4f9a255cbe0d7c7944d5f595e8bd7",
            "6592e09c92b4e0d8c0732773654c74d8545042656c2d70cc530f0d47514172d8",
            "471d20374f241e9845050815441f45d93c1419233c1814964705060e320f18d7",
            "3c12151629131380340a050a190d16bb341313131811545b310b3038180f346a",
            "2e162f26181b2b3a32052d49420b0d1d23164d3c18151328450304082a0d092e",
            "2e131316140f0f4672020204043426483713100c100f0d798a0101060d188581",
        ),
        (
            AnnotatedFace(70, 220, 160, 160, 'obama', 'Male', 49, 22.631),
            AnnotatedFace(70, 770, 155, 155, 'biden', 'Male', 68, 4.118),
        ),
        'Obama (left) and Biden (right), arms crossed',
    ),
    Photo(
        'kit_with_rose.jpg',
        (501, 700),
        _hex(
            "898a81766c636e49534b382f43482a218663566a86777761365c42233f32371c",
            "9291738e7e6f762d6dd7b8353e372a0f8a5984d0b05769276fc1d163433b3018",
            "965267bba7526a292a95bb7e422e2f2479415287794e45653d65bb615d615e29",
            "532b43252634204d405b6b60636269304523232524231f3f3d50635f5764663c",
            "5e2022222224303245596060565e654075235928245ca621405a5c6056536434",
            "6838a369238559293e58515c526562215c363eb66eb3271e4159545258654510",
            "53382d8fba59201c354b53575f4e451c402118354b171b142231485040393121",
            "25171b19183d3e18132e2a39251c20201f1c426f23468e221f1d232e22222223",
        ),
        (
            AnnotatedFace(115, 88, 92, 92, 'rose', 'Female', 26, 99.618),
            AnnotatedFace(105, 262, 90, 90, 'kit', 'Male', 26, 45.317),
        ),
        'A woman (left, smiling) and a man (right) at a premiere',
    ),
    Photo(
        'obama-1080p.jpg',
        (1920, 1080),
        _hex(
            "000000004d6282bba1b66d4d0000000000000000515d768d9b8f664700000000",
            "000000005e597494a0855e42000000000000000063556a99917b593a00000000",
            "000000004a53668c8f6c533c000000000000000047565e80955b4d2c00000000",
            "000000005a4e5a8b9f3b492d00000000000000008251375f5622353f00000000",
            "00000000725e294d3a221f4700000000000000005058264d241b1d5600000000",
            "00000000822d253c21151b5400000000000000007229232c1d25292300000000",
            "00000000531d281f13733e2700000000000000005a229a1f1b4f234300000000",
            "000000002f1f4b1d191b254f00000000000000003c1815110f111d2e00000000",
        ),
        (
            AnnotatedFace(140, 855, 245, 245, 'obama', 'Male', 51, 97.512),
        ),
        'obama.jpg letterboxed into a 1920x1080 frame',
    ),
    Photo(
        'obama_partial_face.jpg',
        (491, 1137),
        _hex(
            "ae98879bbce1e6b758507d6c7a67704da9a39d9ba89ca69b534a765c78617337",
            "9c99b08e849d969150456e4e745c7029939bae8988a29a684c4468436e585436",
            "85a399867386665e484262396555572d9ea28e8fa66d595944415c315c432a26",
            "ce7cb2c651292e2b3b424f38543f4944564a7f3122221922262626282d3f436d",
            "554725212a2720211b1b191922416682582c24201e1d20170c1c1c1a2245bb95",
            "3825211e1b191709261a1a1d23242949221f1e140e0d4278838133212a31343a",
            "1c1b1911146279716d431f1e226b3b18211d181b1d1e1d1d1b1a191c47996739",
            "12121212121315151511112344554f390b1104050505070a0b0d182121333b47",
        ),
        (
            AnnotatedFace(135, 0, 205, 290, 'obama', 'Male', 51, 96.804),
        ),
        'obama.jpg cropped: the face is cut off at the left edge',
    ),
    Photo(
        'obama_small.jpg',
        (320, 240),
        _hex(
            "645e7f86d2c0c5d1c6d8deb75a6f6f71635b7e78b2c0a56460b1f1c9576b6a6f",
            "61587d789e8c81787088aba55568656d5f5479737b71b5b7b2be94af5364606b",
            "5d527875838dbdbfb6ac938151615b685b51757c78979e9f9c82a19c4f5f5665",
            "57507274969d757d8460947e4e5d5263544f6e6f81a3abaca09ca4734c5c4d62",
            "514f6c6e9ea597a18f83a1754a5a495f4e4e696a738485a0916c7d584958455b",
            "4b4d66686b709ba79681655647564157484d63666b619fa89292635c46543d53",
            "464c5f64715ab39285c04d5445523a4e444b5b616e43eba2c5812e3848503744",
            "414a58543b39d96edc2a2721364a484e3f4e3e2c2c468443751f1d1f2a2a354a",
        ),
        (
            AnnotatedFace(60, 97, 125, 125, 'obama', 'Male', 51, 97.133),
        ),
        'obama.jpg cropped and shrunk to 320x240',
    ),
)

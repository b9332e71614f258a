"""Human-readable CLI text in English or in the original experiment's Chinese wording."""

from __future__ import annotations

from .results import LEVELS, AllPairs, Comparison, Face, FaceRectangle

LANGS = ("en", "zh")

_TEXT = {
    "en": {
        "count": "Detected {n} face(s)",
        "face": "Face {i}",
        "gender": "Gender: {v}",
        "age": "Age: {v}",
        "smile": "Smile: {v}",
        "box_title": "Face {i} position in the image (pixels)",
        "used": "Image {side}: face used {box}",
        "no_face": "Image {side}: no face found",
        "confidence": "Confidence: {v}",
        "thresholds": "Thresholds: {v}",
        "verdict_same": "Verdict: same person (confidence >= {level} threshold {t})",
        "verdict_diff": "Verdict: different people (confidence < {level} threshold {t})",
        "verdict_none": "Verdict: nothing to compare (no face in image {sides})",
        "faces_in": "Image {side}: {n} face(s)",
        "pair": "Image 1 face {i} vs image 2 face {j}: confidence {c} ({v})",
        "same": "same person",
        "diff": "different",
        "best": "Most similar pair: image 1 face {i} and image 2 face {j}",
        "unknown": "-",
    },
    "zh": {
        "count": "共检测到{n}张人脸",
        "face": "第{i}个人的数据",
        "gender": "性别{v}",
        "age": "年龄{v}",
        "smile": "微笑率:{v}",
        "box_title": "{i}号人物在图片里的像素位置",
        "used": "图片{side}使用的人脸位置 {box}",
        "no_face": "图片{side}中没有检测到人脸",
        "confidence": "置信度:{v}",
        "thresholds": "阈值: {v}",
        "verdict_same": "结论: 是同一个人 (置信度 >= {level} 阈值 {t})",
        "verdict_diff": "结论: 不是同一个人 (置信度 < {level} 阈值 {t})",
        "verdict_none": "结论: 无法比对 (图片{sides}中没有人脸)",
        "faces_in": "图片{side}共检测到{n}张人脸",
        "pair": "图片1第{i}个人 与 图片2第{j}个人: 置信度 {c} ({v})",
        "same": "同一个人",
        "diff": "不是同一个人",
        "best": "最相似的一对: 图片1第{i}个人 与 图片2第{j}个人",
        "unknown": "未知",
    },
}


def box(r: FaceRectangle) -> str:
    """``top: 345, left: 793, width: 337, height: 337`` (the original's wording)."""
    return f"top: {r.top}, left: {r.left}, width: {r.width}, height: {r.height}"


def detection(faces: list[Face], lang: str = "en") -> list[str]:
    """Lines for one image: the count, then per face gender, age, smile rate and box.

    Example:
        >>> detection([], "zh")
        ['共检测到0张人脸']
    """
    t = _TEXT[lang]
    lines = [t["count"].format(n=len(faces))]
    for i, f in enumerate(faces, start=1):
        smile = t["unknown"] if f.smile is None else f"{f.smile:.3f}%"
        lines += [
            t["face"].format(i=i),
            t["gender"].format(v=f.gender or t["unknown"]),
            t["age"].format(v=t["unknown"] if f.age is None else f.age),
            t["smile"].format(v=smile),
            t["box_title"].format(i=i),
            box(f.rectangle),
        ]
    return lines


def comparison(c: Comparison, lang: str = "en", level: str = "1e-4") -> list[str]:
    """Lines for one Compare: the faces used, confidence, thresholds and the verdict."""
    t = _TEXT[lang]
    lines = []
    for side, face in ((1, c.face1), (2, c.face2)):
        if face is None:
            lines.append(t["no_face"].format(side=side))
        else:
            lines.append(t["used"].format(side=side, box=box(face.rectangle)))
    if c.confidence is None:
        sides = ", ".join(str(s) for s in c.missing_faces)
        lines.append(t["verdict_none"].format(sides=sides))
        return lines
    lines.append(t["confidence"].format(v=f"{c.confidence:.3f}"))
    lines.append(t["thresholds"].format(v=thresholds(c.thresholds)))
    key = "verdict_same" if c.is_same_person(level) else "verdict_diff"
    lines.append(t[key].format(level=level, t=f"{c.thresholds[level]:.3f}"))
    return lines


def all_pairs(result: AllPairs, lang: str = "en", level: str = "1e-4") -> list[str]:
    """Lines for ``compare --all``: the faces of each image, then every pair's confidence."""
    t = _TEXT[lang]
    lines = []
    for side, faces in ((1, result.faces1), (2, result.faces2)):
        lines.append(t["faces_in"].format(side=side, n=len(faces)))
        lines += [f"  {i}: {box(f.rectangle)}" for i, f in enumerate(faces, start=1)]
    for p in result.pairs:
        verdict = t["same"] if p.is_same_person(level) else t["diff"]
        lines.append(t["pair"].format(i=p.index1 + 1, j=p.index2 + 1,
                                      c=f"{p.confidence:.3f}", v=verdict))
    best = result.best()
    if best is not None:
        lines.append(t["best"].format(i=best.index1 + 1, j=best.index2 + 1))
    return lines


def thresholds(values: dict[str, float]) -> str:
    """``1e-3: 62.327, 1e-4: 69.101, 1e-5: 73.975``."""
    return ", ".join(f"{k}: {values[k]:.3f}" for k in LEVELS if k in values)

"""minicnn.progbar.Progress: the one counter bar (decode cache, Face++ CLI)."""

import io

from minicnn.progbar import Progress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_one_summary_line_at_close():
    out = io.StringIO()
    bar = Progress(4, out, label="Caching 4 images", width=4, unit="img")
    for _ in range(4):
        bar.update()
    assert out.getvalue() == ""
    bar.close()
    line = out.getvalue()
    assert line.startswith("Caching 4 images [####] 4/4  ") and line.endswith(" img/s\n")
    assert line.count("\n") == 1


def test_on_a_terminal_redrawn_in_place_and_ended_by_the_last_item():
    out = Tty()
    bar = Progress(2, out, width=4, interval=0.0)
    bar.update(note="a")
    bar.update(note="b")
    bar.close()  # the last update ended the line already
    assert out.getvalue() == "\r\x1b[K[##--] 1/2 a\r\x1b[K[####] 2/2 b\n"


def test_each_item_a_line_and_disabled_is_silent():
    out = io.StringIO()
    bar = Progress(2, out, width=2, each=True)
    bar.update(note="x.jpg")
    bar.update(note="y.jpg")
    bar.close()
    assert out.getvalue() == "[#-] 1/2 x.jpg\n[##] 2/2 y.jpg\n"
    quiet = io.StringIO()
    bar = Progress(2, quiet, enabled=False)
    bar.update()
    bar.close()
    assert quiet.getvalue() == ""

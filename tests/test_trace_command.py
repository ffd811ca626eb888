"""complearn trace: the message printed for an empty call trace."""
import shutil

import pytest

from complearn.cli import main
from tracer_support import needs_valgrind


@needs_valgrind
@pytest.mark.skipif(shutil.which("perl") is None, reason="perl not installed")
def test_image_filter_matching_nothing_names_mapped_images(tmp_path, capsys):
    out = tmp_path / "perl.trace"
    status = main(["trace", "--quiet", "--kind", "calls", "--max-events", "2000",
                   "--images", "libnosuch", "-o", str(out), "--", "perl", "-e", "print 1"])
    err = capsys.readouterr().err
    assert status == 0
    assert "0 calls events" in err
    assert "no call matched --images libnosuch" in err
    assert "libc.so.6" in err

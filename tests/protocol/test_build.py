"""Building needs only the build dependencies: cmocka, a test-only
library, must not be needed to configure and build `roost` (`make run` on
a fresh machine).  Configures the source tree in a temporary directory
with a pkg-config search path that holds every system .pc file except
cmocka.pc."""
import glob
import os
import shutil
import subprocess
import tempfile
from roosttest import expect

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _pc_dirs():
    p = subprocess.run(["pkg-config", "--variable", "pc_path", "pkg-config"],
                       capture_output=True, text=True, check=True)
    return [d for d in p.stdout.strip().split(":") if os.path.isdir(d)]


def test_configure_without_cmocka():
    tmp = tempfile.mkdtemp(prefix="roost-nocmocka-")
    try:
        pcdir = os.path.join(tmp, "pkgconfig")
        os.mkdir(pcdir)
        for d in _pc_dirs():
            for pc in glob.glob(os.path.join(d, "*.pc")):
                name = os.path.basename(pc)
                if name == "cmocka.pc" or os.path.exists(os.path.join(pcdir, name)):
                    continue
                os.symlink(pc, os.path.join(pcdir, name))
        env = dict(os.environ, PKG_CONFIG_LIBDIR=pcdir, PKG_CONFIG_PATH="")
        check = subprocess.run(["pkg-config", "--exists", "cmocka"], env=env)
        expect(check.returncode != 0, "cmocka still visible to pkg-config")
        build = os.path.join(tmp, "build")
        p = subprocess.run(["meson", "setup", build, SRC], env=env, cwd=tmp,
                           capture_output=True, text=True, timeout=300)
        expect(p.returncode == 0, "meson setup without cmocka failed:\n" +
               p.stdout[-3000:] + p.stderr[-3000:])
        p = subprocess.run(["meson", "introspect", "--targets", build],
                           capture_output=True, text=True, check=True)
        import json
        names = [t["name"] for t in json.loads(p.stdout)]
        expect("roost" in names, names)
        expect(not any(n.startswith("test-") for n in names),
               f"unit tests configured without cmocka: {names}")
        # and asking for the unit tests without cmocka is an error (what
        # `make test` does), not a silent skip
        p = subprocess.run(["meson", "setup", "--reconfigure", build, SRC,
                            "-Dunit_tests=enabled"], env=env, cwd=tmp,
                           capture_output=True, text=True, timeout=300)
        expect(p.returncode != 0 and "cmocka" in p.stdout + p.stderr,
               "-Dunit_tests=enabled without cmocka did not fail:\n" + p.stdout[-2000:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

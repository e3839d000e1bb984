#!/usr/bin/env python3
"""The report's SVG figures render in a real browser: a scan under mpiexec -n 2 writes
--report DIR; headless Chromium (Debian's `chromium`) screenshots timeline.svg and
histogram.svg at the size the SVG declares; each PNG must have exactly that size and must not be
blank (enough non-background pixels and colours). A blank SVG of the same size is checked too,
so the blank detector itself is proven to fire. With --update-docs the PNGs are copied to docs/.
Exit 0 pass, 77 skipped (reason printed: no chromium), 1 fail."""
import argparse, json, os, shutil, struct, subprocess, sys, tempfile, zlib
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import mpiprep_testlib as lib  # noqa: E402


def png_pixels(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB/RGBA non-interlaced PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, f"{path}: unexpected PNG {ihdr}"
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        prev = line
    return w, h, rows


def ink(rows):
    """Fraction of pixels differing from the most common (background) colour, and the number
    of distinct colours."""
    counts = {}
    for row in rows:
        for px in row:
            counts[px] = counts.get(px, 0) + 1
    total = sum(counts.values())
    background = max(counts.values())
    return (total - background) / total, len(counts)


def svg_size(path):
    root = ET.parse(path).getroot()
    def num(v):
        return int(round(float(str(v).replace("px", ""))))
    if root.get("width") and root.get("height"):
        return num(root.get("width")), num(root.get("height"))
    vb = root.get("viewBox").replace(",", " ").split()
    return num(vb[2]), num(vb[3])


def screenshot(chromium, svg, png, size):
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--force-device-scale-factor=1", f"--window-size={size[0]},{size[1]}",
           f"--screenshot={png}", "file://" + os.path.abspath(svg)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0 or not os.path.exists(png):
        raise SystemExit(f"FAIL: chromium on {svg}: rc {r.returncode}\n{r.stderr[-2000:]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mpiprep", required=True)
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--source", required=True, help="project root (examples/, tests/data)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--update-docs", action="store_true", help="copy the PNGs to docs/")
    a = ap.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("SKIPPED screenshot test: no chromium (apt-get install chromium; .ci/run does)")
        return 77
    a.work = lib.fresh_dir(a.work)
    report = os.path.join(a.work, "report")
    cmd = lib.mpi_cmd(a.mpiexec, 2, [a.mpiprep, "scan", "--no-cache", "--no-report", "--report",
                                     report, "--output", os.path.join(a.work, "pre.json"),
                                     "examples/fileset.json"])
    r = lib.run(cmd, cwd=a.source, timeout=300)
    assert r.rc in (0, 1), f"scan exit {r.rc}\n{r.out}\n{r.err}"
    shots = {}
    for name in ("timeline", "histogram"):
        svg = os.path.join(report, f"{name}.svg")
        assert os.path.exists(svg), f"scan --report did not write {svg}"
        size = svg_size(svg)
        assert 200 <= size[0] <= 4000 and 100 <= size[1] <= 4000, f"{name}: odd size {size}"
        png = os.path.join(a.work, f"{name}.png")
        screenshot(chromium, svg, png, size)
        w, h, rows = png_pixels(png)
        assert (w, h) == size, f"{name}: screenshot {w}x{h}, SVG declares {size[0]}x{size[1]}"
        frac, colours = ink(rows)
        assert frac >= 0.02 and colours >= 4, \
            f"{name}: looks blank ({100 * frac:.2f}% ink, {colours} colours)"
        print(f"ok: {name}.svg rendered {w}x{h}, {100 * frac:.1f}% ink, {colours} colours")
        shots[name] = png
    # The blank detector must fire on a blank SVG of the same size.
    blank = os.path.join(a.work, "blank.svg")
    size = svg_size(os.path.join(report, "timeline.svg"))
    open(blank, "w").write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{size[0]}" '
                           f'height="{size[1]}"><rect width="100%" height="100%" fill="white"/>'
                           '</svg>')
    screenshot(chromium, blank, os.path.join(a.work, "blank.png"), size)
    frac, colours = ink(png_pixels(os.path.join(a.work, "blank.png"))[2])
    assert frac < 0.02 or colours < 4, f"blank SVG not detected as blank ({frac}, {colours})"
    print("ok: a blank SVG is detected as blank")
    if a.update_docs:
        docs = os.path.join(a.source, "docs")
        os.makedirs(docs, exist_ok=True)
        for name, png in shots.items():
            shutil.copyfile(png, os.path.join(docs, f"report-{name}.png"))
            print(f"updated docs/report-{name}.png")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"FAIL: {e}")
        sys.exit(1)

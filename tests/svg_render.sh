#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/svg_render.sh [SNPSAFE] - `make svg-test`: draw `snpsafe repro --svg`
# with the built command, render it in headless Chromium (a screenshot at the
# picture's own size), then load that screenshot into a canvas in a local page
# in the same Chromium and count its pixels: the render must exist, have the
# picture's size, not be blank, show the key's colours (the panels' cells),
# and leave a white margin on the right and at the bottom (nothing runs past
# the edge); then the same for one run's picture (--strategy naive: one
# panel, its text wrapped to that width).  Prints KTAP and ends with "N passed, N failed".  Without
# Chromium (and CI unset) the whole test is skipped with a message.
#
# CHROMIUM=path picks the browser; SVG_TEST_OUT=dir keeps the files
# (default build/svg-test): repro.svg, repro.png, repro-naive.svg, repro-naive.png.
set -u
cd "$(dirname "$0")/.."
bin=${1:-build/snpsafe}
out=${SVG_TEST_OUT:-build/svg-test}
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}

echo "KTAP version 1"
if [ -z "$chromium" ]; then
	if [ -n "${CI:-}" ]; then
		echo "1..1"
		echo "not ok 1 chromium present # CI is set but no chromium on PATH"
		echo "0 passed, 1 failed"
		exit 1
	fi
	echo "1..0 # SKIP chromium not installed (scripts/debian.sh: snp_install_chromium)"
	echo "0 passed, 0 failed"
	exit 0
fi

mkdir -p "$out" && out=$(cd "$out" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 n=0
check() {	# check DESCRIPTION CONDITION-STATUS [DIAGNOSTIC]
	n=$((n + 1))
	if [ "$2" -eq 0 ]; then
		echo "ok $n $1"; passed=$((passed + 1))
	else
		echo "not ok $n $1"; [ -n "${3:-}" ] && echo "# $3"; failed=$((failed + 1))
	fi
}
browser() {	# a fresh profile each time: no lock shared with another Chromium
	timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--no-first-run --user-data-dir="$tmp/profile-$n" "$@" 2>"$tmp/chromium.err"
}
# render NAME ARGS...: draw `snpsafe repro ARGS --svg $out/NAME.svg`, render it
# to $out/NAME.png at the picture's own size, count its pixels in a canvas.
# Sets svg, png, width, height, pw, ph (the PNG's size), rc, sig, res.
render() {
	local name=$1; shift
	svg=$out/$name.svg png=$out/$name.png
	rm -f "$svg" "$png"
	"$bin" repro "$@" --svg "$svg" >/dev/null 2>"$tmp/err"
	check "snpsafe repro ${*:+$* }--svg writes the picture" $? "$(head -n 3 "$tmp/err")"
	width=$(sed -n 's/.*<svg [^>]*width="\([0-9]*\)".*/\1/p' "$svg" 2>/dev/null | head -n 1)
	height=$(sed -n 's/.*<svg [^>]*height="\([0-9]*\)".*/\1/p' "$svg" 2>/dev/null | head -n 1)
	width=${width:-0} height=${height:-0}

	browser --screenshot="$png" --window-size="$width,$height" "file://$svg" >/dev/null
	rc=$?
	sig=$(od -An -tx1 -N8 "$png" 2>/dev/null | tr -d ' \n')
	# The PNG's IHDR: width and height, big-endian, at bytes 16..23.
	pw=$(od -An -tu1 -j16 -N4 "$png" 2>/dev/null | awk '{print $1*16777216+$2*65536+$3*256+$4}')
	ph=$(od -An -tu1 -j20 -N4 "$png" 2>/dev/null | awk '{print $1*16777216+$2*65536+$3*256+$4}')

	# Count the screenshot's pixels in a canvas (the PNG inlined: no file origin).
	{
		printf '<!DOCTYPE html><html><body><pre id="r">pending</pre><script>\n'
		printf 'const key = {vmcb: [0xd6,0x27,0x28], faulted: [0xff,0x7f,0x0e], written: [0x2c,0xa0,0x2c], set_aside: [0x94,0x67,0xbd]};\n'
		printf 'const img = new Image();\n'
		printf 'img.onerror = () => { document.getElementById("r").textContent = "error"; };\n'
		printf 'img.onload = () => {\n'
		printf ' const c = document.createElement("canvas"); c.width = img.width; c.height = img.height;\n'
		printf ' const g = c.getContext("2d"); g.drawImage(img, 0, 0);\n'
		printf ' const d = g.getImageData(0, 0, c.width, c.height).data, colours = new Set();\n'
		printf ' const hits = {}; for (const k in key) hits[k] = 0;\n'
		printf ' let ink = 0, edge = 0;\n'
		printf ' for (let i = 0; i < d.length; i += 4) {\n'
		printf '  const x = (i / 4) %% c.width, y = Math.floor(i / 4 / c.width);\n'
		printf '  if (d[i] < 245 || d[i+1] < 245 || d[i+2] < 245) { ink++; if (x >= c.width - 8 || y >= c.height - 4) edge++; }\n'
		printf '  colours.add((d[i] >> 3) << 10 | (d[i+1] >> 3) << 5 | (d[i+2] >> 3));\n'
		printf '  for (const k in key) if (Math.abs(d[i]-key[k][0]) < 8 && Math.abs(d[i+1]-key[k][1]) < 8 && Math.abs(d[i+2]-key[k][2]) < 8) hits[k]++;\n'
		printf ' }\n'
		printf ' document.getElementById("r").textContent = "size " + c.width + "x" + c.height + " ink " + ink + " colours " + colours.size + " edge " + edge + " " + Object.keys(key).map(k => k + " " + hits[k]).join(" ");\n'
		printf '};\n'
		printf 'img.src = "data:image/png;base64,'
		base64 -w0 "$png" 2>/dev/null
		printf '";\n</script></body></html>\n'
	} >"$tmp/count.html"
	browser --virtual-time-budget=10000 --dump-dom "file://$tmp/count.html" >"$tmp/dom.html"
	res=$(sed -n 's/.*<pre id="r">\([^<]*\)<\/pre>.*/\1/p' "$tmp/dom.html" | head -n 1)
	echo "# canvas ($name): ${res:-nothing}"
	# "size WxH ink N colours N edge N vmcb N faulted N written N set_aside N"
	read -r _ _ _ ink _ colours _ edge _ vmcb _ faulted _ written _ set_aside <<<"${res:-x x x 0 x 0 x 0 x 0 x 0 x 0 x 0}"
}

echo "1..10"

# The three runs side by side (no --strategy).
render repro
[ "$rc" -eq 0 ] && [ "$sig" = 89504e470d0a1a0a ]
check "headless Chromium rendered it to a PNG" $? "exit $rc; $(tail -n 2 "$tmp/chromium.err")"
[ "$width" -gt 0 ] && [ "${pw:-0}" = "$width" ] && [ "${ph:-0}" = "$height" ]
check "the render is the picture's size (${width}x${height})" $? "PNG ${pw:-?}x${ph:-?}"
total=$((width * height))
[ "${ink:-0}" -gt $((total / 20)) ] && [ "${colours:-0}" -ge 8 ]
check "the render is not blank (ink on at least 5% of pixels, 8 or more colours)" $? \
	"ink ${ink:-?} of $total, colours ${colours:-?}"
[ "${vmcb:-0}" -ge 100 ] && [ "${faulted:-0}" -ge 100 ] && [ "${written:-0}" -ge 100 ] &&
	[ "${set_aside:-0}" -ge 100 ]
check "the key's colours are drawn (VMCB, faulted, written, set aside)" $? \
	"pixels: vmcb ${vmcb:-?} faulted ${faulted:-?} written ${written:-?} set_aside ${set_aside:-?}"
[ "${edge:-1}" -eq 0 ] && [ -n "$res" ]
check "nothing reaches the right or bottom edge (a white margin stays)" $? "${edge:-?} ink pixels in the margin"
echo "# svg: $svg, render: $png"

# One run (--strategy naive): one panel, the title, setup and key wrapped to it.
render repro-naive --strategy naive
[ "$rc" -eq 0 ] && [ "$sig" = 89504e470d0a1a0a ] && [ "$width" -gt 0 ] &&
	[ "${pw:-0}" = "$width" ] && [ "${ph:-0}" = "$height" ]
check "one panel: rendered at the picture's size (${width}x${height})" $? \
	"exit $rc; PNG ${pw:-?}x${ph:-?}"
[ "${ink:-0}" -gt $((width * height / 20)) ] && [ "${vmcb:-0}" -ge 100 ] &&
	[ "${faulted:-0}" -ge 100 ] && [ "${set_aside:-0}" -eq 0 ]
check "one panel: naive's colours drawn, no other run's (no set-aside page)" $? \
	"ink ${ink:-?}; pixels: vmcb ${vmcb:-?} faulted ${faulted:-?} set_aside ${set_aside:-?}"
[ "${edge:-1}" -eq 0 ] && [ -n "$res" ]
check "one panel: nothing reaches the right or bottom edge" $? "${edge:-?} ink pixels in the margin"
echo "# svg: $svg, render: $png"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

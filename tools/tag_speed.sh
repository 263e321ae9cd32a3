#!/bin/bash
# The speed of `pyvision classify` and `pyvision tag --xmp` on a folder of photos, against
# `pyvision classify` of another checkout (e.g. a worktree of an older commit), with the
# start-up taken out: each command runs on one photo and on all of them, and the rate is
# (N - 1) / (T_all - T_one). Sidecars are written in a copy of the folder, under /tmp.
#   tools/tag_speed.sh OLD_CHECKOUT PHOTOS_DIR [RUNS]
set -euo pipefail
old=$(cd "$1" && pwd); photos=$2; runs=${3:-3}
python=$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/python
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$photos" "$work/all"; mkdir "$work/one"; cp "$(ls -d "$work"/all/* | head -1)" "$work/one/"
n=$(ls "$work/all" | wc -l)
seconds() { local start=$(date +%s.%N); "$@" >/dev/null 2>&1; echo "$(date +%s.%N) - $start" | bc; }
old_classify() { (cd "$old" && PYTHONPATH="$old" "$python" -m pyvision classify "$1"); }
for run in $(seq "$runs"); do
  o1=$(seconds old_classify "$work/one"); on=$(seconds old_classify "$work/all")
  c1=$(seconds "$python" -m pyvision classify "$work/one"); cn=$(seconds "$python" -m pyvision classify "$work/all")
  rm -f "$work"/one/*.xmp "$work"/all/*.xmp
  t1=$(seconds "$python" -m pyvision tag --xmp "$work/one"); tn=$(seconds "$python" -m pyvision tag --xmp "$work/all")
  again=$(seconds "$python" -m pyvision tag --xmp "$work/all")
  "$python" -c "
o, c, t = ($n - 1) / ($on - $o1), ($n - 1) / ($cn - $c1), ($n - 1) / ($tn - $t1)
print(f'run $run: old classify {o:.0f} img/s; classify {c:.0f} img/s ({c / o:.2f}x); '
      f'tag --xmp {t:.0f} img/s ({t / o:.2f}x); a second tag run {$again:.2f} s')
print(o, c, t, file=open('$work/rates', 'a'))"
done
# One run takes about a second: the neighbours' load moves it by +-15%. The medians move less.
"$python" -c "
from statistics import median
o, c, t = (median(column) for column in zip(*(map(float, line.split()) for line in open('$work/rates'))))
print(f'median of $runs: old classify {o:.0f} img/s; classify {c:.0f} img/s ({c / o:.2f}x); tag --xmp {t:.0f} img/s ({t / o:.2f}x)')"

# maxrel A.h5 B.h5 DATASET: prints max|a-b| / max|a| over a dataset of two files.
h5dump -m '%.17g' -d "$3" -y -w 0 "$1" | tr ',' '\n' | grep -E '^ *-?[0-9]' > "$TMP/a.txt"
h5dump -m '%.17g' -d "$3" -y -w 0 "$2" | tr ',' '\n' | grep -E '^ *-?[0-9]' > "$TMP/b.txt"
paste "$TMP/a.txt" "$TMP/b.txt" | awk 'NF==2 { d = $1 - $2; if (d < 0) d = -d; if (d > md) md = d; a = $1 < 0 ? -$1 : $1; if (a > ma) ma = a; n++ }
  END { if (n == 0) { print "nan"; exit 1 } printf "%.3e\n", md / ma }'

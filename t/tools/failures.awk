# The failed assertions of a tap log, each with its file and its YAML diagnostics (at most
# 30 lines), at most 300 lines in all: the end of a long log names what failed.
/^# Subtest: / { file = substr($0, 12) }
yaml == 1 { # the line after a failure: does a YAML block follow?
  yaml = 0
  if ($0 ~ /^[ \t]*---$/) { yaml = 30; match($0, /^[ \t]*/); indent = RLENGTH }
}
yaml > 1 {
  if (shown++ < 300) print "  " substr($0, indent + 1)
  yaml = ($0 ~ /^[ \t]*\.\.\.$/) ? 0 : yaml - 1
  next
}
/^[ \t]*not ok / {
  line = $0; sub(/^[ \t]+/, "", line)
  if (shown++ < 300) print "[" file "] " line
  yaml = 1
}

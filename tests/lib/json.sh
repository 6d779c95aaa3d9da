# tests/lib/json.sh: reading the JSON that `dkimkit ... --json` prints
# (bash; sourced).  Needs python3 (PY, else PYTHON, else python3).

# json_field FILE EXPR: EXPR, a Python expression over j, the first JSON
# line of FILE, printed (e.g. 'j["signatures"][0]["result"]').
json_field()
{
	"${PY:-${PYTHON:-python3}}" -c 'import json,sys; j=json.loads(open(sys.argv[1]).readline()); print(eval(sys.argv[2]))' "$@"
}

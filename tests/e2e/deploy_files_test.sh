#!/usr/bin/env bash
# The deployment files in deploy/ (docs/distributed.md): the Kubernetes manifests parse, name
# the image the Dockerfile builds and run its entry point with sub-commands and flags this
# sluice has; the Indexed Job keeps one pod per index; the systemd unit runs the installed
# binary. (Building the image needs Docker, which CI does not have: this checks the files.)
source "$(dirname "$0")/lib.sh"
deploy="$ROOT/deploy"
dockerfile="$deploy/Dockerfile"
image=$(sed -n 's/^#.*docker build .* -t \([^ ]*\) .*$/\1/p' "$dockerfile" | head -1)
entry=$(sed -n 's/^ENTRYPOINT \["\([^"]*\)".*$/\1/p' "$dockerfile")
[ -n "$image" ] && [ -n "$entry" ] && pass "the Dockerfile builds $image with entry point $entry" || fail "Dockerfile: image '$image', entry '$entry'"
grep -q "^FROM debian:12" "$dockerfile" && ! grep -qE "curl|wget|pip install|npm" "$dockerfile" \
  && pass "the image is Debian 12 with Debian packages only" || fail "the Dockerfile fetches from outside Debian"
grep -q "COPY --from=build /build/sluice $entry" "$dockerfile" && pass "the binary is installed where the entry point runs it" \
  || fail "the Dockerfile does not copy the binary to $entry"

# Every container of every manifest: image, and the sluice command line it runs.
/usr/bin/python3 - "$deploy/kubernetes" "$image" "$entry" > "$WORK/commands" <<'PY' || fail "the manifests do not parse or check"
import glob, os, shlex, sys, yaml
folder, image, entry = sys.argv[1:4]
def pod_specs(doc):
    kind = doc["kind"]
    if kind == "Job":
        yield doc["spec"], doc["spec"]["template"]["spec"]
    elif kind == "CronJob":
        job = doc["spec"]["jobTemplate"]["spec"]
        yield job, job["template"]["spec"]
kinds = []
for path in sorted(glob.glob(os.path.join(folder, "*.yaml"))):
    for doc in yaml.safe_load_all(open(path)):
        kinds.append(doc["kind"])
        for job, pod in pod_specs(doc):
            if job.get("completionMode") == "Indexed":
                assert job.get("podReplacementPolicy") == "Failed", path + ": an Indexed Job needs podReplacementPolicy: Failed"
                assert "backoffLimitPerIndex" in job, path + ": backoffLimitPerIndex missing"
            assert pod["restartPolicy"] == "Never", path
            for c in pod["containers"]:
                assert c["image"] == image, f"{path}: image {c['image']} is not {image}"
                if "command" in c:  # a shell line: each sluice command in it
                    line = " ".join(c["args"])
                    for part in line.replace(";", "\n").splitlines():
                        command = part.strip().removeprefix("then ").removeprefix("exec ").split("||")[0]
                        words = shlex.split(command)
                        if words and words[0] == entry:
                            print(" ".join(words[1:]))
                else:
                    print(" ".join(c["args"]))
for needed in ("ConfigMap", "Secret", "Job", "CronJob"):
    assert needed in kinds, needed + " missing from the manifests"
PY
[ -s "$WORK/commands" ] && pass "$(wc -l < "$WORK/commands") sluice command lines in the manifests" || fail "no commands found"
while read -r sub rest; do
  help=$("$SLUICE" "$sub" --help 2>&1) || { fail "sluice $sub: no such sub-command"; continue; }
  for flag in $(grep -oE -- '--[a-z-]+' <<< "$rest"); do
    grep -q -- "$flag" <<< "$help" || fail "sluice $sub has no $flag"
  done
  pass "sluice $sub $rest: the sub-command and flags exist"
done < "$WORK/commands"
grep -q "SLUICE_STATE" "$deploy/kubernetes/job-config.yaml" && grep -q "SLUICE_STATE" <<< "$("$SLUICE" worker --help)" \
  && pass "the Secret's SLUICE_STATE is the worker's --state" || fail "SLUICE_STATE not wired"

unit="$deploy/systemd/sluice-worker.service"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ "${exec_start%% *}" = "$entry" ] && pass "the systemd unit runs $entry" || fail "ExecStart: $exec_start"
set -- $exec_start
shift
sub=$1; shift
for flag in "$@"; do
  [[ $flag == --* ]] || continue
  grep -q -- "$flag" <<< "$("$SLUICE" "$sub" --help)" || fail "sluice $sub has no $flag (systemd unit)"
done
pass "the systemd unit's flags exist"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit" 2>&1 | grep -v "not executable\|No such file\|User=" | grep -q . \
    && fail "systemd-analyze: $(systemd-analyze verify "$unit" 2>&1 | head -3)" || pass "systemd-analyze accepts the unit"
fi
finish

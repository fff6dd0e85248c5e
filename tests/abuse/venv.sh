# Sourced (from the repository's root) by tests/abuse/run.sh and tests/cluster/run.sh:
# `abuse_python` sets PY to the Python of tests/abuse's venv, made and filled from
# tests/abuse/requirements.txt (a venv whose interpreter is gone is made again; without venv
# support, `pip install --user` into python3). Calls the caller's `setup_failed` when pip fails.
abuse_python() {
  local dir=tests/abuse
  PY="$dir/.venv/bin/python"
  if [ -e "$dir/.venv" ] && ! "$PY" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$dir/.venv"   # a venv whose interpreter is gone
  fi
  if [ ! -x "$PY" ]; then
    echo "==> python3 -m venv $dir/.venv"
    if ! python3 -m venv "$dir/.venv"; then
      rm -rf "$dir/.venv"
      echo "==> no venv support: pip install --user instead"
      PY=python3
    fi
  fi
  echo "==> pip install -r $dir/requirements.txt"
  if [ "$PY" = python3 ]; then
    python3 -m pip install -q --user --disable-pip-version-check -r "$dir/requirements.txt" || setup_failed "pip install"
  else
    "$PY" -m pip install -q --disable-pip-version-check -r "$dir/requirements.txt" || setup_failed "pip install"
  fi
}

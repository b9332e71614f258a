import os
import subprocess
import sys


def _policy(env):
    code = "import minicnn, os; print(os.environ['OMP_WAIT_POLICY'])"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120, check=True).stdout.strip()


def test_import_defaults_omp_wait_policy_to_passive():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert _policy(env) == "PASSIVE"


def test_user_choice_of_wait_policy_is_kept():
    assert _policy({**os.environ, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"

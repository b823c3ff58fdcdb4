"""Run `sigma check` offline on Sigma rule files or folders.

Usage: python scripts/sigma_check.py RULE_OR_FOLDER...

This is sigma-cli's own `check` command, called in this process after
pointing pySigma at local ATT&CK and D3FEND files built from the shipped
catalog (scripts/attack_stix.py), so no data is downloaded. Every installed
validator runs, as with a plain `sigma check`, and the command is given
`--fail-on-issues`: the exit status is non-zero on any parse error, condition
error or validation issue, and the issues are printed with the validator
names.

pySigma caches the loaded data on disk, by default under
~/.cache/pysigma. Each run uses a new temporary cache instead, so a cache
filled from the internet elsewhere can neither leak in nor be cleared.
"""

import sys
import tempfile
from pathlib import Path

# The tests run this script from the source tree: leave no __pycache__ there.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import attack_stix  # noqa: E402


def refuse_download(url, *args, **kwargs):
    """Stand in for urlopen in pySigma's data loaders, so that a code path
    that tries to download fails loudly instead of going online."""
    raise RuntimeError(f"sigma_check.py runs offline but pySigma tried to download {url}")


def point_pysigma_at(attack_path, d3fend_path, cache_dir):
    """Make pySigma load ATT&CK and D3FEND data from the given files, with
    its disk cache under `cache_dir`."""
    from sigma.data import mitre_attack, mitre_d3fend

    # set_cache_dir must come first: set_url clears the cache it points to.
    for module, path in ((mitre_attack, attack_path), (mitre_d3fend, d3fend_path)):
        module.set_cache_dir(str(Path(cache_dir) / module.__name__.rsplit(".", 1)[-1]))
        module.set_url(str(path))
        module.urlopen = refuse_download


def main(argv):
    if not argv:
        print("usage: sigma_check.py RULE_OR_FOLDER...", file=sys.stderr)
        return 2
    try:
        import click
        from sigma.cli.check import check
    except ImportError as error:
        print(
            f"error: sigma-cli is not installed for {sys.executable} ({error}). "
            "Run scripts/pyenv.sh and use .venv/bin/python.",
            file=sys.stderr,
        )
        return 2

    with tempfile.TemporaryDirectory(prefix="huntbridge-sigma-") as work:
        attack_path, d3fend_path = attack_stix.write_files(Path(work) / "data")
        point_pysigma_at(attack_path, d3fend_path, Path(work) / "cache")

        # standalone_mode=False returns the exit code of `ctx.exit()` and
        # lets a ClickException through, so the temporary folder is removed
        # before the process exits.
        try:
            status = check.main(
                args=["--fail-on-issues", *argv],
                prog_name="sigma check",
                standalone_mode=False,
            )
        except click.ClickException as error:
            error.show()
            return error.exit_code
    return status or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

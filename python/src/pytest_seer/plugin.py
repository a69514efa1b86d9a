"""pytest-seer: asks the `seer` binary which tests a change can break and runs only those;
records runs (JUnit) and per-test coverage (coverage.py contexts).

The plugin never fails closed: any failure of seer (a missing binary, an error exit, an answer
it cannot read, a timeout) is reported and every collected test runs.

A test is named as seer names it from pytest's JUnit report (`classname::name`, see
`junit_id`), so a test skipped by seer is found among the collected items by its node id.
"""

import ast
import json
import os
import subprocess
import sys
import tempfile

import pytest

# How long `seer select` may take before every test runs instead (it answers in milliseconds;
# a cold start trains nothing, but a first refresh of a large store may read for a while).
SELECT_TIMEOUT_S = 120
# `seer record` and `seer coverage record` store what a whole suite produced.
RECORD_TIMEOUT_S = 600


def pytest_addoption(parser):
    group = parser.getgroup("seer", "seer: run only the tests a change can break")
    group.addoption(
        "--seer",
        action="store_true",
        dest="seer_select",
        help="run only the tests seer selects for the current change (the working tree's "
        "uncommitted change, else HEAD's); every test runs when seer cannot answer",
    )
    group.addoption(
        "--seer-commit",
        metavar="REV",
        dest="seer_commit",
        help="select for (and record as) this commit instead of the working tree or HEAD",
    )
    group.addoption(
        "--seer-record",
        action="store_true",
        dest="seer_record",
        help="write JUnit (--junitxml, else a temporary file) and `seer record` it after the run",
    )
    group.addoption(
        "--seer-coverage",
        action="store_true",
        dest="seer_coverage",
        help="measure each test's lines (coverage.py, one context per test) and "
        "`seer coverage record` them",
    )
    group.addoption(
        "--seer-coverage-file",
        metavar="PATH",
        dest="seer_coverage_file",
        default=".seer-coverage",
        help="where --seer-coverage writes coverage.py's data (default: .seer-coverage)",
    )
    group.addoption(
        "--seer-bin",
        metavar="PATH",
        dest="seer_bin",
        default=os.environ.get("SEER_BIN", "seer"),
        help="the seer binary (default: $SEER_BIN, else `seer` on PATH)",
    )
    group.addoption(
        "--seer-db",
        metavar="PATH",
        dest="seer_db",
        help="the store seer uses (default: $SEER_DB, else seer's own default)",
    )


def junit_id(nodeid):
    """The id seer gives a test recorded from pytest's JUnit report: pytest writes classname
    `tests.test_a.TestX` and name `test_y[p]` for `tests/test_a.py::TestX::test_y[p]`."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    if len(names) < 2:
        return nodeid
    name = names.pop() + bracket + params
    module = names[0].replace("/", ".")
    if module.endswith(".py"):
        module = module[: -len(".py")]
    return "::".join([".".join([module] + names[1:]), name])


class SeerFailed(Exception):
    """seer could not answer: the caller runs every test."""


class Seer:
    """The seer binary, run in pytest's root directory."""

    def __init__(self, config):
        self.binary = config.getoption("seer_bin")
        self.db = config.getoption("seer_db")
        self.root = str(config.rootpath)

    def run(self, args, timeout):
        command = [self.binary] + (["--db", self.db] if self.db else []) + list(args)
        try:
            done = subprocess.run(
                command, cwd=self.root, capture_output=True, text=True, timeout=timeout
            )
        except FileNotFoundError:
            raise SeerFailed(f"no seer binary at {self.binary!r} (--seer-bin or SEER_BIN)")
        except subprocess.TimeoutExpired:
            raise SeerFailed(f"`seer {args[0]}` took more than {timeout} s")
        except OSError as e:
            raise SeerFailed(f"cannot run {self.binary!r}: {e}")
        if done.returncode != 0:
            said = done.stderr.strip().splitlines()
            raise SeerFailed(
                f"`seer {' '.join(args[:2])}` exited {done.returncode}"
                + (f": {said[-1]}" if said else "")
            )
        return done


def tracked_changes(root):
    """Whether tracked files differ from HEAD (None when git cannot tell)."""
    try:
        done = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return bool(done.stdout.strip()) if done.returncode == 0 else None


def parse(path):
    try:
        with open(path, encoding="utf-8") as f:
            return ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return None


def continuation_lines(tree):
    """For each statement written over several lines, its first line (where coverage.py counts
    it) → the lines after it (of a compound statement, its header's)."""
    out = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or node.end_lineno is None:
            continue
        body = getattr(node, "body", None)
        last = body[0].lineno - 1 if isinstance(body, list) and body else node.end_lineno
        if last > node.lineno:
            out[node.lineno] = range(node.lineno + 1, last + 1)
    return out


def definitions(tree):
    """Each function and class definition: (its header's lines, decorators included; all its
    lines). Its header runs at import, outside any test; what it defines runs in the tests that
    run its body."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            out.append((range(first, node.body[0].lineno), range(first, node.end_lineno + 1)))
    return out


def names_by_line(tree):
    """Each identifier the file reads (a variable, an attribute) → the lines reading it. Bindings
    are left out (an import binds a name again, and the reads of that name are indexed)."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            out.setdefault(node.id, set()).add(node.lineno)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            out.setdefault(node.attr, set()).add(node.end_lineno or node.lineno)
        elif isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            out.setdefault("__all__", set()).add(node.lineno)  # a star import reads `__all__`
    return out


def walk_scope(node):
    """`ast.walk`, but not into comprehensions and lambdas, whose variables are their own (an
    assignment expression's target, which binds outside them, is still seen)."""
    todo = [node]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)):
                todo.extend(n.target for n in ast.walk(child) if isinstance(n, ast.NamedExpr))
            else:
                todo.append(child)


def bound_names(stmt, in_class):
    """The names an import-time statement binds (`None`: it binds none, or, in a class's body, a
    dunder name such as `__slots__`, which Python itself reads). A module's `__all__` is read
    by star imports, which `names_by_line` counts as naming it."""
    names = set()
    for node in walk_scope(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
    dunder = any(n.startswith("__") for n in names)
    if not names or (in_class and dunder) or isinstance(stmt, (ast.Global, ast.Nonlocal)):
        return None
    return names


def narrow(stmt, in_class, path, contexts, parsed):
    """Gives an import-time statement that binds names the tests that ran a line naming them,
    where that is known (see `rewrite_report`); whether it changed anything."""
    own = range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)
    names = bound_names(stmt, in_class)
    if names is None or "" not in contexts.get(stmt.lineno, ()):
        return False
    ran, named = set(), False
    for other, (_, other_contexts, index) in parsed.items():
        for n in names:
            for line in index.get(n, ()):
                if other == path and line in own:
                    continue
                named = True
                ran |= other_contexts.get(line, set())
    # Nothing names it: it may be read by name at run time (`getattr`), but for `__all__`, which
    # only star imports and code naming it read.
    if (not named and names != {"__all__"}) or "" in ran:
        return False
    for line in own:
        if "" in contexts.get(line, ()):
            contexts[line] = (contexts[line] - {""}) | ran
    return True


def docstrings(tree):
    """Each docstring (of the module, its classes and functions): its owner's name (`None` for
    the module's), and its lines."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                yield getattr(node, "name", None), range(first.lineno, (first.end_lineno or first.lineno) + 1)


def doc_reads(tree):
    """Each line that may read a docstring, with whose: `NAME` for `NAME.__doc__`, `None` for
    any other read (`__doc__` alone, `self.__doc__`, `getattr(x, "__doc__")`, `inspect.getdoc`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "__doc__" and isinstance(node.ctx, ast.Load):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            yield node.end_lineno or node.lineno, owner
        elif isinstance(node, ast.Name) and node.id in ("__doc__", "getdoc") and isinstance(node.ctx, ast.Load):
            yield node.lineno, None
        elif isinstance(node, ast.Attribute) and node.attr == "getdoc":
            yield node.end_lineno or node.lineno, None
        elif isinstance(node, ast.Constant) and node.value == "__doc__":
            yield node.lineno, None


def import_time_statements(body, in_class=False):
    """The statements of a module's or class's body that run at import, but definitions (whose
    headers are seen to apart), classes' bodies included; each with whether it is a class's."""
    for stmt in body:
        if isinstance(stmt, ast.ClassDef):
            yield from import_time_statements(stmt.body, True)
        elif not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield stmt, in_class


def rewrite_report(report, doctests):
    """Makes a coverage.py JSON report say more for seer. seer counts lines run outside any test
    (imports, module-level code, `def` lines) as run by every test; the plugin knows the source
    and narrows that where the code says who depends on a line:
      - file names absolute (coverage.py writes them relative to the directory pytest ran in;
        seer makes absolute ones relative to the repository's root, which may be elsewhere);
      - a statement written over several lines runs on each of its lines (coverage.py counts it
        on its first line only, and a change to a later line would touch no executable line);
      - a definition's header (`def`, `class` and decorator lines) runs in the tests that ran
        the definition's body;
      - a docstring runs in the doctests collected from its file (`doctests`: path → node
        ids) and in the tests that ran a line reading it: `NAME.__doc__` reads the docstrings
        of the functions and classes named NAME, any other read of `__doc__` (or `getdoc`)
        every docstring (in every test, when such a line ran outside tests); coverage.py does
        not count a function's docstring, and a change to one would otherwise touch no
        executable line;
      - a module-level (or class-level) statement binding names (a constant, a table, an
        import) runs in the
        tests that ran a line naming one of them, in any measured file (test files included).
        A module's `__all__` is named by star imports (and when nothing names it, no test runs it). It stays run by every test when it binds a
        dunder name in a class (`__slots__`: Python reads it), when nothing names what it binds
        (it may be read by `getattr`), or when a line naming it ran outside tests."""
    with open(report, encoding="utf-8") as f:
        doc = json.load(f)
    files, parsed = {}, {}
    for name, data in doc["files"].items():
        path = os.path.abspath(name)
        tree = parse(path)
        files[path] = data
        if tree is None:
            continue
        more = continuation_lines(tree)
        for key in ("executed_lines", "missing_lines"):
            if key in data:
                data[key] = sorted(set(data[key]).union(*(more.get(l, ()) for l in data[key])))
        contexts = {int(line): set(names) for line, names in (data.get("contexts") or {}).items()}
        for line, names in list(contexts.items()):
            for extra in more.get(line, ()):
                contexts.setdefault(extra, set()).update(names)
        # Innermost first: a class's header then takes the tests of its methods.
        for header, lines in sorted(definitions(tree), key=lambda d: len(d[1])):
            body = set().union(*(contexts.get(l, set()) for l in lines if l not in header))
            if "" in body:
                continue  # its body ran at import too: every test may depend on it
            for l in header:
                if "" in contexts.get(l, ()):
                    contexts[l] = (contexts[l] - {""}) | body
        parsed[path] = (tree, contexts, names_by_line(tree))
    # The tests that ran a line reading a docstring: of a function or class by its name where
    # the line names one defined here, else any docstring.
    defined = {n.name for tree, _, _ in parsed.values() for n in ast.walk(tree)
               if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))}
    reads_any, reads_of = set(), {}
    for tree, other_contexts, _ in parsed.values():
        for line, owner in doc_reads(tree):
            ran = other_contexts.get(line, {""})
            if owner in defined:
                reads_of.setdefault(owner, set()).update(ran)
            else:
                reads_any |= ran
    for path, (tree, contexts, _) in parsed.items():
        in_doctests = {f"{node}|run" for node in doctests.get(path, ())}
        data = files[path]
        docs = list(docstrings(tree))
        lines = [l for _, own in docs for l in own]
        for key in ("executed_lines", "missing_lines"):
            data[key] = sorted(set(data.get(key) or []) | (set(lines) if key == "missing_lines" else set()))
        for owner, own in docs:
            ran = in_doctests | reads_any | reads_of.get(owner, set())
            for l in own:
                contexts[l] = (contexts.get(l, set()) - {""}) | ran
    # Until nothing changes: a statement's uses may be import-time statements narrowed before.
    for _ in range(10):
        changed = False
        for path, (tree, contexts, _) in parsed.items():
            for stmt, in_class in import_time_statements(tree.body):
                changed |= narrow(stmt, in_class, path, contexts, parsed)
        if not changed:
            break
    for path, (_, contexts, _) in parsed.items():
        files[path]["contexts"] = {str(line): sorted(names) for line, names in contexts.items() if names}
    doc["files"] = files
    with open(report, "w", encoding="utf-8") as f:
        json.dump(doc, f)


class SeerPlugin:
    def __init__(self, config):
        self.config = config
        self.seer = Seer(config)
        self.commit = config.getoption("seer_commit")
        self.lines = []  # what the plugin says after collection and at the end
        self.deselected_all = False
        self.junit_is_ours = False
        self.coverage = None
        self.coverage_report = None

    def say(self, line):
        self.lines.append(f"seer: {line}")

    def dirty(self):
        """Whether the run is of uncommitted changes (then it is not HEAD's to record)."""
        return self.commit is None and tracked_changes(self.seer.root) is not False

    # --- selection -------------------------------------------------------------------------

    def select(self, items):
        args = ["select", "--format", "json"]
        if self.commit:
            args += ["--commit", self.commit]
        elif tracked_changes(self.seer.root):
            args += ["--worktree"]
        try:
            done = self.seer.run(args, SELECT_TIMEOUT_S)
            try:
                doc = json.loads(done.stdout)
                mode, skipped = doc["mode"], set(doc["skipped"]) | set(doc.get("quarantined") or [])
            except (ValueError, KeyError, TypeError) as e:
                raise SeerFailed(f"`seer select` gave an answer the plugin cannot read: {e}")
        except SeerFailed as e:
            self.say(f"running every test: {e}")
            return
        if mode != "subset":
            self.say(f"running every test: {doc.get('reason') or 'seer selected them all'}")
            for note in doc.get("notes") or []:
                self.say(note)
            return
        if doc.get("nothing_to_run"):
            # The one test seer names only so that a runner has one to run: pytest needs none.
            skipped |= {t["id"] for t in doc["selected"]}
        keep, drop = [], []
        for item in items:
            (drop if junit_id(item.nodeid) in skipped else keep).append(item)
        quarantined = set(doc.get("quarantined") or [])
        total, est = doc.get("total_s") or 0.0, doc.get("estimated_s") or 0.0
        self.say(
            f"running {len(keep)} of {len(items)} tests, skipping {len(drop)} that this change "
            f"cannot break (estimated {est:.1f} s of {total:.1f} s); why:"
        )
        gate = doc.get("gate")
        if gate and not gate.get("open"):
            self.say("the model skips nothing until its trust gate opens: only coverage skips tests")
        elif doc.get("model"):
            self.say(f"the model ({doc['model']}) skips tests scoring below {doc.get('threshold') or 0:.3g}")
        for note in doc.get("notes") or []:
            self.say(note)
        verbose = self.config.getoption("verbose") > 0
        for item in drop:
            if junit_id(item.nodeid) in quarantined:
                self.say(f"quarantined: {item.nodeid} (run `seer select --quarantined` apart)")
            elif verbose:
                self.say(f"skipped: {item.nodeid}")
        if drop:
            self.config.hook.pytest_deselected(items=drop)
            items[:] = keep
            self.deselected_all = not keep

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items):
        if config.getoption("seer_select"):
            self.select(items)

    def pytest_report_collectionfinish(self, config, start_path, items):
        return list(self.lines)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        if self.deselected_all and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            session.exitstatus = pytest.ExitCode.OK
            self.lines.append("seer: nothing to run: this change cannot break any of the tests")
        if self.coverage is not None:
            self.coverage.stop()
            self.coverage.save()
            # The JSON report also lists the statements no test ran, which the data file does
            # not: seer then knows a change to one of them breaks no test.
            path = self.coverage.get_data().data_filename() + ".json"
            try:
                self.coverage.json_report(outfile=path, show_contexts=True)
                rewrite_report(path, _doctests)
                self.coverage_report = path
            except Exception as e:  # coverage.py's own errors: the data file is recorded instead
                sys.stderr.write(f"seer: no coverage JSON report ({e}); recording the data file\n")

    def pytest_terminal_summary(self, terminalreporter):
        if self.deselected_all:
            terminalreporter.write_line("seer: nothing to run: this change cannot break any of the tests")

    # --- recording -------------------------------------------------------------------------

    def record(self, what, args, commit):
        """Runs `seer ARGS… [--commit C] FILE` unless the run is of uncommitted changes."""
        if self.dirty():
            sys.stderr.write(
                f"seer: {what} not recorded: the working tree has uncommitted changes "
                "(they are not HEAD's; commit first, or give --seer-commit)\n"
            )
            return
        commit = ["--commit", commit] if commit else []
        try:
            done = self.seer.run(args[:-1] + commit + args[-1:], RECORD_TIMEOUT_S)
        except SeerFailed as e:
            sys.stderr.write(f"seer: {what} not recorded: {e}\n")
            return
        for line in (done.stdout + done.stderr).strip().splitlines():
            sys.stderr.write(f"seer: {line}\n")

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config):
        if config.getoption("seer_record"):
            path = config.option.xmlpath
            if path and os.path.exists(path):
                self.record("the run", ["record", path], self.commit)
            else:
                sys.stderr.write("seer: the run not recorded: pytest wrote no JUnit report\n")
            if self.junit_is_ours and path:
                try:
                    os.unlink(path)
                except OSError:
                    pass
        if self.coverage is not None:
            path = self.coverage_report or self.coverage.get_data().data_filename()
            self.record("the coverage", ["coverage", "record", path], self.commit or "HEAD")


# The coverage measurement, started before conftest files are imported (so that the imports
# and module-level code of the measured files are seen, as they run outside any test).
_coverage = None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global _coverage
    options = early_config.known_args_namespace
    if not getattr(options, "seer_coverage", False):
        return
    try:
        import coverage
    except ImportError:
        sys.stderr.write("seer: --seer-coverage needs coverage.py (pip install coverage)\n")
        return
    root = str(early_config.rootpath)
    path = os.path.join(root, options.seer_coverage_file)
    _coverage = coverage.Coverage(data_file=path, source=[root])
    _coverage.erase()
    _coverage.start()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    plugin = SeerPlugin(config)
    plugin.coverage = _coverage
    if config.getoption("seer_record") and not config.option.xmlpath:
        fd, path = tempfile.mkstemp(prefix="seer-junit-", suffix=".xml")
        os.close(fd)
        config.option.xmlpath = path
        plugin.junit_is_ours = True
    config.pluginmanager.register(plugin, "seer-plugin")


# The doctests collected, by file: a docstring's change runs them.
_doctests = {}


def pytest_collection_finish(session):
    if _coverage is None:
        return
    for item in session.items:
        if type(item).__name__ == "DoctestItem":
            _doctests.setdefault(str(item.path), set()).add(item.nodeid)


def _phase(item, phase):
    if _coverage is not None:
        _coverage.switch_context(f"{item.nodeid}|{phase}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    _phase(item, "setup")
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    _phase(item, "run")
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    _phase(item, "teardown")
    yield
    if _coverage is not None:
        _coverage.switch_context("")

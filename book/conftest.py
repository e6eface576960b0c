"""pytest settings for the chapter notebooks (run by `make test` with --nbval-lax)."""
import collections


BUDGET_SECONDS = 60  # each chapter must run in under a minute on 2 cores


def pytest_terminal_summary(terminalreporter):
    """Print the chapters by running time: all their cells plus the kernel start."""
    seconds = collections.defaultdict(float)
    for reports in terminalreporter.stats.values():
        for report in reports:
            path = getattr(report, "nodeid", "").split("::")[0]
            if path.endswith(".ipynb") and hasattr(report, "duration"):
                seconds[path] += report.duration
    if not seconds:
        return
    terminalreporter.write_sep("=", "slowest chapters (seconds)")
    for path, total in sorted(seconds.items(), key=lambda item: -item[1]):
        note = f"  (over the {BUDGET_SECONDS} s budget)" if total > BUDGET_SECONDS else ""
        terminalreporter.write_line(f"{total:8.1f}  {path}{note}")
    terminalreporter.write_line(f"{sum(seconds.values()):8.1f}  all chapters")

"""``trajkit view``: static HTML reports of runs and dataset versions, for deciding by looking.

One job per module: ``model`` (what the pages state: targets, rows, totals, histogram bins),
``charts`` (inline SVG), ``highlight`` (a small Python highlighter), ``html`` (the page shell),
``render_overview`` and ``render_trajectory`` (the pages' HTML), ``verdict`` (the verdict line,
answer and reference at the top of a trajectory page, as each source reads its verdicts),
``site`` (writes a report folder: pages plus lazily loaded data chunks) and ``compare`` (two
reports and the tasks that flipped). The CLI command lives in ``trajkit.cli.view_command``.
"""

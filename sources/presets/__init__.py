"""Named benchmarks that are the generic ``tasks`` source with other defaults: GSM8K, MBPP,
HumanEval. Each preset reads its benchmark's official layout and Hub copy, phrases the
prompt its way and picks its judge; everything else (``--limit``/``--seed``, ``--source-opt``
keys, judge options, tools, one-line data errors) is ``tasks``' own."""

"""The run plumbing of the chapters: what :mod:`knnoise.experiments` and the runner (:mod:`knnoise.book`)
stand on, below both of them.

- :mod:`~knnoise.pipeline.params`: :class:`~knnoise.pipeline.params.Params`, a chapter's validated
  parameters (``p.data``, ``p.schedule`` typed);
- :mod:`~knnoise.pipeline.data_spec`: :class:`~knnoise.pipeline.data_spec.DataSpec` and
  :func:`~knnoise.pipeline.data_spec.load_dataset`, a chapter's dataset by its parameters;
- :mod:`~knnoise.pipeline.sweep`: sweeps of independent cells, cached one file per cell, resumable;
- :mod:`~knnoise.pipeline.engine`: where a sweep's cells run (this process, a Dask ``LocalCluster``, a
  Dask cluster);
- :mod:`~knnoise.pipeline.networks`: the networks of Sec. 4 as sweep cells (noisy labels, the network
  cache shared by the chapters);
- :mod:`~knnoise.pipeline.paper_results`: paper-scale results tables with provenance (``results/paper``);
- :mod:`~knnoise.pipeline.grid`: the budgeted, resumable paper-scale grid (``python -m knnoise.book.grid``).

Importing this package imports none of them (the setup cell's :class:`Params` stays light).
"""

"""One model of the project that every codemod reads: its modules, names, calls and metadata.

Between `engine` (files, runs, writes) and `codemods` (each codemod's rules and rewrite):

- `modules`: which module each file is (import roots found from the project's own imports,
  PEP 420 folders, names checked by a round trip);
- `symbols`: the facts of one module, every name written down as a symbol (a stdlib ``ast``
  walk in the workers; codemods extend the walker for their own extra facts);
- `resolver`: what those symbols stand for across the project (`Resolver`: re-exports and
  stars, instances and methods through the MRO, call results, context managers, providers);
- `fastapi`: what FastAPI means by a route, a dependency, a parameter function, a task;
- `blocking` and `decorators`: the catalogues, by qualified name, of calls that block the
  event loop (and what library context managers enter as) and of decorators that accept a
  plain ``def``; users extend both;
- `metadata`: the FastAPI version the project declares (lock files, PEP 621, Poetry, uv,
  requirements files, ``setup.cfg``/``setup.py``, read with ``packaging``).
"""

"""One model of the project that every codemod reads: its modules, names, calls and metadata.

Between `engine` (files, runs, writes) and `codemods` (each codemod's rules and rewrite):

- `fastapi`: what FastAPI means by a route, a dependency, a parameter function, a task;
- `blocking`: the catalogue of calls that block the event loop, by qualified name;
- `metadata`: the FastAPI version the project declares;
- `symbols`: the facts of one module, names written down as symbols (an ``ast`` walk);
- `resolver`: what those symbols stand for across the project (`Resolver`).
"""

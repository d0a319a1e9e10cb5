"""layered-layout: move a project into the layered layout, every import rewritten.

- `codemod`: the `LayeredLayout` codemod the registry runs;
- `project_index` / `index`: what each module binds, uses and imports (LibCST scopes);
- `classify`: which layer each top-level definition belongs to, and how the project is
  organised today;
- `plan`: where every module and definition goes (an editable `Plan`);
- `realize`: turn a plan into new file contents, with every import and string rewritten
  (`compose` builds the split modules, `imports` and `strings` rewrite the references);
- `plan_file`: the plan as TOML, to edit and apply later.
"""

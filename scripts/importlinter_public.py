"""An import-linter contract type: each feature package is used by the others only through its
public surface (the modules named in `public`), never its internals.

    [importlinter:contract:public-surface]
    type = public_surface
    features = app.dnc app.optouts ...
    public = service repository schemas errors dependencies
    ignore_imports = app.x.y -> app.dnc.internal   # why, on the line above

A module of feature F is public when its first name under F is listed (`app.dnc.service`,
`app.dnc.errors`), or listed for F alone in full (`app.auth.principal`), or it is F itself.
Imports from inside F, and from outside every listed feature (the composition root: app.main,
app.api, app.cli), are not checked.
"""

from __future__ import annotations

from typing import cast

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class PublicSurfaceContract(Contract):
    type_name = "public_surface"

    features = fields.ListField(subfield=fields.StringField())
    public = fields.ListField(subfield=fields.StringField())
    ignore_imports = fields.SetField(subfield=fields.StringField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        features = [str(f) for f in self.features]  # type: ignore[attr-defined]
        public = {str(p) for p in self.public}  # type: ignore[attr-defined]
        ignored = {
            tuple(part.strip() for part in str(line).split("->"))
            for line in cast("set[str]", self.ignore_imports or set())
        }
        roots = {"app.main", "app.api", "app.cli", "app.all_models"}
        broken: list[tuple[str, str, int]] = []
        used_ignores: set[tuple[str, ...]] = set()
        for feature in features:
            for module in sorted({feature, *graph.find_descendants(feature)}):
                rest = module[len(feature) + 1 :].split(".")[0] if module != feature else ""
                if not rest or rest in public or f"{feature}.{rest}" in public:
                    continue
                for importer in sorted(graph.find_modules_that_directly_import(module)):
                    inside = importer == feature or importer.startswith(feature + ".")
                    if inside or importer in roots or not importer.startswith("app."):
                        continue
                    if (importer, module) in ignored:
                        used_ignores.add((importer, module))
                        continue
                    details = graph.get_import_details(importer=importer, imported=module)
                    line = details[0]["line_number"] if details else 0
                    broken.append((importer, module, line))
        warnings = [
            f"ignored import not found: {' -> '.join(pair)}"
            for pair in sorted(ignored - used_ignores)
        ]
        return ContractCheck(kept=not broken, metadata={"broken": broken}, warnings=warnings)

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, module, line in check.metadata["broken"]:
            output.print_error(f"{importer} -> {module} (l.{line}): not that feature's surface")
            output.new_line()

"""Discovery, parallel runs, diffs and safe writes. Knows no codemod in particular; never prints."""

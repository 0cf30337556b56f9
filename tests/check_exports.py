#!/usr/bin/env python3
"""Linkage test: the shared library exports exactly the public API.

Every function declared with UIOMMU_API in include/uiommu/*.h must be a
defined dynamic symbol of libuiommu.so, and the library must export nothing
else (no uio_ internals, no stray globals).
"""
import pathlib
import re
import subprocess
import sys

headers_dir = pathlib.Path(sys.argv[1])
library = sys.argv[2]

declared = set()
decl = re.compile(r'UIOMMU_API\b[^;{]*?\b(uiommu_\w+)\s*\(', re.S)
for header in sorted(headers_dir.glob('*.h')):
    text = re.sub(r'/\*.*?\*/', '', header.read_text(), flags=re.S)
    declared.update(decl.findall(text))

nm = subprocess.run(['nm', '-D', '--defined-only', library],
                    check=True, capture_output=True, text=True).stdout
exported = set()
for line in nm.splitlines():
    parts = line.split()
    if len(parts) >= 3 and parts[1] in 'TDBRVWtdbr':
        exported.add(parts[2].split('@')[0])
exported.discard('UIOMMU_0')

missing = sorted(declared - exported)
extra = sorted(exported - declared)
for name in missing:
    print(f'declared but not exported: {name}')
for name in extra:
    print(f'exported but not declared in a public header: {name}')
print(f'{len(declared)} public functions, {len(exported)} exported symbols')
sys.exit(1 if missing or extra else 0)

"""sass_loop.py — instruction counts of a decode kernel's position loop, from cuobjdump -sass output.

The loop is the backward branch with the largest body that holds tensor-core instructions (HMMA) or, without
them, the largest body. Instructions of a forward branch right after a VOTE (kernel 4's rescale, taken only when
some head's running max moves) are counted apart: the common path leaves them out.
Usage: python3 sass_loop.py FILE.sass   → one line: "loop=N common=N rare=N hmma=N lds=N ldsm=N ldgsts=N bar=N"
"""
import re
import sys


def parse(path):
    code = []
    for line in open(path):
        m = re.match(r'\s+/\*([0-9a-f]{4,})\*/\s+(.*?);', line)
        if m:
            code.append((int(m.group(1), 16), m.group(2).strip()))
    return code


def opcode(text):
    words = text.split()
    return (words[1] if words[0].startswith('@') else words[0]).split('.')[0]


def main(path):
    code = parse(path)
    best = None
    for address, text in code:
        m = re.search(r'BRA (?:`\(\.L_x_\d+\) )?(0x[0-9a-f]+)', text)
        if not m:
            continue
        target = int(m.group(1), 16)
        if target >= address:
            continue
        body = [t for a, t in code if target <= a <= address]
        key = (any(opcode(t) == 'HMMA' for t in body), len(body))
        if best is None or key > best[0]:
            best = (key, target, address)
    if best is None:
        print("loop=0 common=0 rare=0 hmma=0 lds=0 ldsm=0 ldgsts=0 bar=0")
        return
    _, first, last = best
    body = [(a, t) for a, t in code if first <= a <= last and opcode(t) != 'NOP']
    rare = set()
    for i, (a, t) in enumerate(body):
        if opcode(t) != 'VOTE':
            continue
        for b, u in body[i + 1:]:
            m = re.search(r'BRA (?:`\(\.L_x_\d+\) )?(0x[0-9a-f]+)', u)
            if u.startswith('@') and m and int(m.group(1), 16) > b:
                end = int(m.group(1), 16)
                rare.update(c for c, v in body if b < c < end)
                break
    counts = {}
    for a, t in body:
        if a not in rare:
            counts[opcode(t)] = counts.get(opcode(t), 0) + 1
    common = len(body) - len(rare)
    print(f"loop={len(body)} common={common} rare={len(rare)} hmma={counts.get('HMMA', 0)} "
          f"lds={counts.get('LDS', 0)} ldsm={counts.get('LDSM', 0)} ldgsts={counts.get('LDGSTS', 0)} "
          f"bar={counts.get('BAR', 0)}")


if __name__ == '__main__':
    main(sys.argv[1])

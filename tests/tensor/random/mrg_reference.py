"""MRG31k3p written from L'Ecuyer & Touzin (2000) in plain Python: the
reference the tests compare symarray's generator with (exact values)."""

from __future__ import annotations

# L'Ecuyer & Touzin (2000), MRG31k3p: two recurrences modulo two primes
P1, P2 = 2 ** 31 - 1, 2 ** 31 - 21069


class PyMRG:
    """One stream, written from the paper: histories oldest first."""

    def __init__(self, state: list[int]) -> None:
        # Theano's order: (x1[n-1], x1[n-2], x1[n-3], x2[n-1], x2[n-2], x2[n-3])
        self.x1 = [state[2], state[1], state[0]]
        self.x2 = [state[5], state[4], state[3]]

    def next_z(self) -> int:
        x1 = (2 ** 22 * self.x1[-2] + (2 ** 7 + 1) * self.x1[-3]) % P1
        x2 = (2 ** 15 * self.x2[-1] + (2 ** 15 + 1) * self.x2[-3]) % P2
        self.x1 = self.x1[1:] + [x1]
        self.x2 = self.x2[1:] + [x2]
        z = (x1 - x2) % P1
        return z if z > 0 else P1

    def next_float64(self) -> float:
        return self.next_z() / 2.0 ** 31

    def state(self) -> list[int]:
        return self.x1[::-1] + self.x2[::-1]


def py_jump(state: list[int], steps: int) -> list[int]:
    """``steps`` steps by 3x3 matrix powers (the recurrence as a matrix)."""
    def power(a: list[list[int]], n: int, m: int) -> list[list[int]]:
        r = [[int(i == j) for j in range(3)] for i in range(3)]
        while n:
            if n & 1:
                r = [[sum(r[i][k] * a[k][j] for k in range(3)) % m for j in range(3)]
                     for i in range(3)]
            a = [[sum(a[i][k] * a[k][j] for k in range(3)) % m for j in range(3)]
                 for i in range(3)]
            n >>= 1
        return r

    a1 = power([[0, 2 ** 22, 2 ** 7 + 1], [1, 0, 0], [0, 1, 0]], steps, P1)
    a2 = power([[2 ** 15, 0, 2 ** 15 + 1], [1, 0, 0], [0, 1, 0]], steps, P2)
    v1, v2 = state[:3], state[3:]
    return ([sum(a1[i][k] * v1[k] for k in range(3)) % P1 for i in range(3)]
            + [sum(a2[i][k] * v2[k] for k in range(3)) % P2 for i in range(3)])

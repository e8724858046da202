"""Where the drawing puts each edge's label: on its own edge, turned to run along it, at a
spot where no other edge passes under the label and no other label or neuron sits.

Plain geometry on rectangles turned by an angle (no drawing here), so that tests can check
a picture's labels with the same rules the drawing used to place them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Segment = tuple[float, float, float, float]   # x1, y1, x2, y2
MARGIN = 2.0       # the least gap between a label and anything else, in px
END_GAP = 8.0      # a label stays this far from either end of its edge (the neurons)
PREFERRED = 0.68   # where along its edge (0: source, 1: target) a label is tried first


@dataclass(frozen=True)
class Box:
    """A rectangle of width w and height h centred on (cx, cy), turned by `angle` degrees
    (clockwise on screen, as SVG's rotate): a label lying along its edge."""

    cx: float
    cy: float
    w: float
    h: float
    angle: float = 0.0

    def axes(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The unit vectors along the box's length and across it."""
        t = math.radians(self.angle)
        return (math.cos(t), math.sin(t)), (-math.sin(t), math.cos(t))

    def local(self, x: float, y: float) -> tuple[float, float]:
        """(x, y) in the box's own coordinates: along and across, from its centre."""
        (ux, uy), (nx, ny) = self.axes()
        dx, dy = x - self.cx, y - self.cy
        return dx * ux + dy * uy, dx * nx + dy * ny

    def corners(self) -> list[tuple[float, float]]:
        (ux, uy), (nx, ny) = self.axes()
        return [(self.cx + s * self.w / 2 * ux + r * self.h / 2 * nx,
                 self.cy + s * self.w / 2 * uy + r * self.h / 2 * ny)
                for s, r in ((-1, -1), (1, -1), (1, 1), (-1, 1))]


def segment_hits(box: Box, seg: Segment, margin: float = MARGIN) -> bool:
    """Whether the segment passes through the box grown by `margin` (Liang-Barsky clipping
    in the box's own coordinates)."""
    x1, y1 = box.local(seg[0], seg[1])
    x2, y2 = box.local(seg[2], seg[3])
    hw, hh = box.w / 2 + margin, box.h / 2 + margin
    low, high = 0.0, 1.0
    for p, q in ((-(x2 - x1), x1 + hw), (x2 - x1, hw - x1),
                 (-(y2 - y1), y1 + hh), (y2 - y1, hh - y1)):
        if p == 0:
            if q < 0:
                return False
            continue
        r = q / p
        if p < 0:
            low = max(low, r)
        else:
            high = min(high, r)
        if low > high:
            return False
    return True


def boxes_overlap(a: Box, b: Box, margin: float = MARGIN) -> bool:
    """Whether two turned rectangles overlap or come closer than `margin` (separating axes)."""
    for box in (a, b):
        for ax, ay in box.axes():
            pa = [x * ax + y * ay for x, y in a.corners()]
            pb = [x * ax + y * ay for x, y in b.corners()]
            if max(pa) + margin <= min(pb) or max(pb) + margin <= min(pa):
                return False
    return True


def circle_hits(box: Box, cx: float, cy: float, r: float, margin: float = MARGIN) -> bool:
    """Whether a circle (a neuron) overlaps the box."""
    x, y = box.local(cx, cy)
    nearest_x = max(-box.w / 2, min(box.w / 2, x))
    nearest_y = max(-box.h / 2, min(box.h / 2, y))
    return math.hypot(x - nearest_x, y - nearest_y) < r + margin


def distance_to_segment(x: float, y: float, seg: Segment) -> float:
    x1, y1, x2, y2 = seg
    dx, dy = x2 - x1, y2 - y1
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / length2))
    return math.hypot(x - (x1 + t * dx), y - (y1 + t * dy))


def _candidates() -> list[float]:
    """Positions along an edge, nearest the preferred one first."""
    return sorted((i / 50 for i in range(3, 48)), key=lambda t: (abs(t - PREFERRED), t))


def place_labels(edges: list[Segment], sizes: list[tuple[float, float]],
                 boxes: list[Box] = (), circles: list[tuple[float, float, float]] = ()
                 ) -> list[Box] | None:
    """One label box per edge, centred on its edge and turned along it, touching no other
    edge, label, box (text already drawn) or circle (neuron); of the free spots, the one
    farthest from every other edge (where the label is least ambiguous). None when some
    edge has no free spot (too many edges: the caller lists them instead)."""
    placed: list[Box] = []
    for i, ((x1, y1, x2, y2), (w, h)) in enumerate(zip(edges, sizes)):
        others = [e for k, e in enumerate(edges) if k != i]
        length = math.hypot(x2 - x1, y2 - y1)
        angle = math.degrees(math.atan2(y2 - y1, x2 - x1))
        best, clearance = None, -1.0
        for t in _candidates():
            along = t * length
            if along - w / 2 < END_GAP or length - along - w / 2 < END_GAP:
                continue
            box = Box(x1 + t * (x2 - x1), y1 + t * (y2 - y1), w, h, angle)
            if (any(segment_hits(box, e) for e in others)
                    or any(boxes_overlap(box, other, 2 * MARGIN) for other in placed)
                    or any(boxes_overlap(box, other) for other in boxes)
                    or any(circle_hits(box, *c) for c in circles)):
                continue
            room = min((distance_to_segment(x, y, e) for e in others
                        for x, y in box.corners()), default=math.inf)
            if room > clearance + 0.5:   # (candidates come nearest PREFERRED first)
                best, clearance = box, room
        if best is None:
            return None
        placed.append(best)
    return placed

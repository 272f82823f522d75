"""Score modes: how a head turns class logits and objectness into proposal scores.

A mode string is parsed once into a :class:`ScoreMode`; heads, losses and tools use its
fields instead of looking for substrings. The grammar::

    [cls*]<objectness>        classes times objectness (FCOS-OWP "OWP-aware"); without
                              ``cls*``: class-agnostic, one class "object" (FCOS-OWP "OWP")
    [<objectness>*]<rba>      class-agnostic RbA scores (RbA (Nayal et al., ICCV 2023),
                              :mod:`mmowp.models.utils.rba`)

with ``<objectness>`` one of ``centerness``, ``iou``, ``sqrt(centerness*iou)`` and ``<rba>``
one of ``rba`` (Eq. 5, affinely normalised) or ``rej`` (Eq. 4 on the positive part of the
logits).
"""
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

from .rba import rba_affine, rba_rejection

#: Objectness factors, and the branches each one reads.
OBJECTNESS_FACTORS: Dict[str, Tuple[str, ...]] = {
    'centerness': ('centerness', ),
    'iou': ('iou', ),
    'sqrt(centerness*iou)': ('centerness', 'iou'),
}
#: RbA normalisations.
RBA_NORMS: Tuple[str, ...] = ('rba', 'rej')


@dataclass(frozen=True)
class ScoreMode:
    """A parsed score mode.

    Args:
        name (str): The mode string, e.g. ``'cls*iou'`` or ``'iou*rej'``.
        objectness (str, optional): The objectness factor (a key of
            :data:`OBJECTNESS_FACTORS`), or None.
        uses_classes (bool): Whether the class probabilities multiply in (``cls*``).
        rba (str, optional): The RbA normalisation (``'rba'``/``'rej'``), or None.
    """

    name: str
    objectness: Optional[str]
    uses_classes: bool
    rba: Optional[str]

    @classmethod
    def parse(cls, name: str) -> 'ScoreMode':
        """Parse ``name``; a string outside the grammar raises ``ValueError`` listing the
        valid modes."""
        if not isinstance(name, str):
            raise ValueError(f'a score mode is a string, got {name!r}')
        rest, uses_classes, rba = name, name.startswith('cls*'), None
        if uses_classes:
            rest = rest[len('cls*'):]
        for norm in RBA_NORMS:
            if rest == norm or rest.endswith('*' + norm):
                rba, rest = norm, rest[:-len(norm)].rstrip('*')
        objectness = rest or None
        valid = (objectness is None or objectness in OBJECTNESS_FACTORS) and (
            objectness is not None or rba is not None) and not (uses_classes and rba)
        if not valid:
            raise ValueError(f'unknown score mode {name!r}; expected one of {all_score_modes()}')
        return cls(name, objectness, uses_classes, rba)

    @property
    def class_agnostic(self) -> bool:
        """One class, "object": the classifier does not label the proposals."""
        return not self.uses_classes

    @property
    def branches(self) -> Tuple[str, ...]:
        """Objectness branches the mode reads."""
        return OBJECTNESS_FACTORS[self.objectness] if self.objectness else ()

    def objectness_factor(self, obj_probs: Dict[str, Tensor]) -> Optional[Tensor]:
        """The objectness factor from per-branch sigmoid probabilities.

        Args:
            obj_probs (dict[str, Tensor]): Branch name -> (N,) probabilities.

        Returns:
            Tensor | None: (N,) values in [0, 1]; None when the mode has no objectness.
        """
        missing = [b for b in self.branches if b not in obj_probs]
        if missing:
            raise ValueError(f'score mode {self.name!r} needs the objectness branches '
                             f'{missing}, but only {sorted(obj_probs)} are given')
        if self.objectness is None:
            return None
        if self.objectness == 'sqrt(centerness*iou)':
            return torch.sqrt(obj_probs['centerness'] * obj_probs['iou'])
        return obj_probs[self.objectness]

    def agnostic_scores(self, cls_logits: Tensor, obj_probs: Dict[str, Tensor]) -> Tensor:
        """Per-location score of a class-agnostic mode.

        Args:
            cls_logits (Tensor): (N, K) one-vs-all class logits (read by RbA modes only).
            obj_probs (dict[str, Tensor]): Branch name -> (N,) sigmoid probabilities.

        Returns:
            Tensor: (N,) scores in [0, 1].
        """
        if self.uses_classes:
            raise ValueError(f'score mode {self.name!r} keeps the classes; it has no '
                             'class-agnostic score')
        score = self.objectness_factor(obj_probs)
        if self.rba is not None:
            rba = rba_affine(cls_logits) if self.rba == 'rba' else rba_rejection(cls_logits)
            score = rba if score is None else score * rba
        return score


def all_score_modes() -> Tuple[str, ...]:
    """Every valid score mode string."""
    objs = tuple(OBJECTNESS_FACTORS)
    return (tuple(f'cls*{o}' for o in objs) + objs + RBA_NORMS +
            tuple(f'{o}*{n}' for n in RBA_NORMS for o in objs))


#: Class-agnostic modes built on RbA.
RBA_SCORE_MODES: Tuple[str, ...] = tuple(m for m in all_score_modes()
                                         if ScoreMode.parse(m).rba is not None)

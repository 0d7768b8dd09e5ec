"""The bundled ALFWorld sample games as readable definitions; ``make_games`` builds them.

Six small households written for trajkit (none comes from ALFRED): one game of each of the
pick-and-place, heat, cool and clean task types in ``train``, a look-at-in-light game in
``valid_seen`` and, in ``valid_unseen``, a pick-and-place game in the older command wording
(``put X in/on Y``). Each walkthrough is checked in the real engine when the games are built.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trajkit.sources.alfworld.load import DATA_SUBDIR


@dataclass(frozen=True)
class GameSpec:
    """One game: where things are, what to do, and the commands that do it.

    Names are ALFRED classes with a number ("Apple 1", "SinkBasin 1"); the game shows them
    in lower case ("apple 1", "sinkbasin 1"). ``contents`` maps each object to the receptacle
    it starts in; the agent starts in the middle of the room.
    """

    split: str
    task_type: str
    obj: str
    recep: str
    scene: int
    trial: str
    receptacles: tuple[str, ...]
    contents: dict[str, str]
    walkthrough: tuple[str, ...]
    toggle: str = ""
    old_wording: bool = False
    description: str = ""

    @property
    def task_dir(self) -> str:
        mrecep = "None"
        target = self.toggle or self.recep
        return f"{self.task_type}-{self.obj}-{mrecep}-{target}-{self.scene}"

    @property
    def path(self) -> Path:
        return Path(DATA_SUBDIR) / self.split / self.task_dir / self.trial


SPECS: tuple[GameSpec, ...] = (
    GameSpec(
        split="train",
        task_type="pick_and_place_simple",
        obj="Mug",
        recep="Desk",
        scene=301,
        trial="trial_T20260101_000001_trajkit",
        receptacles=("Bed 1", "Desk 1", "Drawer 1", "GarbageCan 1", "Shelf 1", "Shelf 2"),
        contents={
            "Mug 1": "Shelf 2",
            "Pen 1": "Desk 1",
            "Book 1": "Bed 1",
            "CellPhone 1": "Drawer 1",
            "Pencil 1": "Shelf 1",
        },
        walkthrough=(
            "go to shelf 2",
            "take mug 1 from shelf 2",
            "go to desk 1",
            "move mug 1 to desk 1",
        ),
        description="Put the mug from the shelf on the desk.",
    ),
    GameSpec(
        split="train",
        task_type="pick_heat_then_place_in_recep",
        obj="Apple",
        recep="DiningTable",
        scene=1,
        trial="trial_T20260101_000002_trajkit",
        receptacles=(
            "Cabinet 1",
            "CounterTop 1",
            "CounterTop 2",
            "DiningTable 1",
            "Fridge 1",
            "GarbageCan 1",
            "Microwave 1",
            "SinkBasin 1",
        ),
        contents={
            "Apple 1": "Fridge 1",
            "Bread 1": "CounterTop 1",
            "Mug 1": "Cabinet 1",
            "Knife 1": "CounterTop 2",
            "Tomato 1": "DiningTable 1",
        },
        walkthrough=(
            "go to fridge 1",
            "open fridge 1",
            "take apple 1 from fridge 1",
            "go to microwave 1",
            "heat apple 1 with microwave 1",
            "go to diningtable 1",
            "move apple 1 to diningtable 1",
        ),
        description="Warm up an apple and set it on the dining table.",
    ),
    GameSpec(
        split="train",
        task_type="pick_cool_then_place_in_recep",
        obj="Tomato",
        recep="CounterTop",
        scene=2,
        trial="trial_T20260101_000003_trajkit",
        receptacles=(
            "Cabinet 1",
            "Cabinet 2",
            "CounterTop 1",
            "DiningTable 1",
            "Fridge 1",
            "Microwave 1",
            "SinkBasin 1",
            "StoveBurner 1",
        ),
        contents={
            "Tomato 1": "Cabinet 2",
            "Potato 1": "DiningTable 1",
            "Pan 1": "StoveBurner 1",
            "Bowl 1": "Cabinet 1",
            "Egg 1": "Fridge 1",
        },
        walkthrough=(
            "go to cabinet 2",
            "open cabinet 2",
            "take tomato 1 from cabinet 2",
            "go to fridge 1",
            "cool tomato 1 with fridge 1",
            "go to countertop 1",
            "move tomato 1 to countertop 1",
        ),
        description="Chill a tomato and leave it on the counter.",
    ),
    GameSpec(
        split="train",
        task_type="pick_clean_then_place_in_recep",
        obj="Plate",
        recep="Cabinet",
        scene=7,
        trial="trial_T20260101_000004_trajkit",
        receptacles=(
            "Cabinet 1",
            "CounterTop 1",
            "CounterTop 2",
            "Drawer 1",
            "Fridge 1",
            "SinkBasin 1",
            "StoveBurner 1",
        ),
        contents={
            "Plate 1": "CounterTop 2",
            "Spatula 1": "Drawer 1",
            "Cup 1": "CounterTop 1",
            "Lettuce 1": "Fridge 1",
            "Pot 1": "StoveBurner 1",
        },
        walkthrough=(
            "go to countertop 2",
            "take plate 1 from countertop 2",
            "go to sinkbasin 1",
            "clean plate 1 with sinkbasin 1",
            "go to cabinet 1",
            "open cabinet 1",
            "move plate 1 to cabinet 1",
        ),
        description="Wash the plate and put it away in the cabinet.",
    ),
    GameSpec(
        split="valid_seen",
        task_type="look_at_obj_in_light",
        obj="Book",
        recep="",
        toggle="DeskLamp",
        scene=302,
        trial="trial_T20260101_000005_trajkit",
        receptacles=("Bed 1", "Desk 1", "Shelf 1", "SideTable 1"),
        contents={
            "Book 1": "Bed 1",
            "DeskLamp 1": "SideTable 1",
            "Pen 1": "Desk 1",
            "AlarmClock 1": "Shelf 1",
        },
        walkthrough=(
            "go to bed 1",
            "take book 1 from bed 1",
            "go to sidetable 1",
            "use desklamp 1",
        ),
        description="Look at the book under the lamp.",
    ),
    GameSpec(
        split="valid_unseen",
        task_type="pick_and_place_simple",
        obj="SoapBar",
        recep="Toilet",
        scene=406,
        trial="trial_T20260101_000006_trajkit",
        old_wording=True,
        receptacles=(
            "Cabinet 1",
            "CounterTop 1",
            "GarbageCan 1",
            "SinkBasin 1",
            "Toilet 1",
            "TowelHolder 1",
        ),
        contents={
            "SoapBar 1": "Cabinet 1",
            "SprayBottle 1": "CounterTop 1",
            "Towel 1": "TowelHolder 1",
            "ToiletPaper 1": "Toilet 1",
        },
        walkthrough=(
            "go to cabinet 1",
            "open cabinet 1",
            "take soapbar 1 from cabinet 1",
            "go to toilet 1",
            "put soapbar 1 in/on toilet 1",
        ),
        description="Put the soap bar on the toilet.",
    ),
)

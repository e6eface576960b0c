"""Which exercises: by chapter ("4", "04", "A1") or by name ("ch04.iwae_bound"), from the registry.

Every function here reads ``vaelite.exercises.REGISTRY`` (after ``load_all``); no chapter is
named in the code, so chapters registered later are found the same way.
"""
import difflib

from vaelite.exercises import load_all


def chapter_id(exercise):
    """The chapter of an exercise as the book numbers it: "ch04_elbo" -> "04",
    "chA1_speed" -> "A1"."""
    module = exercise.chapter
    return module[2:].split("_", 1)[0] if module.startswith("ch") else module


def normalize_chapter(text):
    """What a user typed for a chapter -> its id: "4" -> "04", "a1" -> "A1"."""
    text = str(text).strip()
    return f"{int(text):02d}" if text.isdigit() else text.upper()


def chapters():
    """The ids of the chapters that have exercises, in book order."""
    return sorted({chapter_id(ex) for ex in load_all().values()})


def function_name(exercise):
    """The name of the function a student writes: the reference solution's name."""
    name = getattr(exercise.reference, "__name__", "")
    if not name.isidentifier():  # a lambda or a callable object: the exercise's short name
        name = exercise.name.split(".", 1)[-1].replace("-", "_")
    return name


def select(chapter=(), names=(), require=True):
    """The registered exercises of the chapters ``chapter`` and the exercises ``names``, in
    book order (by chapter; within a chapter, as the chapter registers them), as a list of
    Exercise.

    Raises ValueError naming the option for an unknown chapter or name, for an empty selection
    when ``require`` (without it, nothing selected means every exercise), and for two selected
    exercises whose functions have the same name (a notebook holds one function per name).
    """
    registry = load_all()  # in import order; sorted by chapter below (a stable sort)
    wanted = {normalize_chapter(c) for c in chapter}
    known = chapters()
    unknown = sorted(wanted - set(known))
    if unknown:
        where = "that chapter" if len(unknown) == 1 else "those chapters"
        raise ValueError(f"--chapter {' '.join(unknown)}: no exercises in {where}; the "
                         f"chapters with exercises are {', '.join(known)}")
    for name in names:
        if name not in registry:
            close = difflib.get_close_matches(name, list(registry), n=3)
            raise ValueError(f"--exercise {name}: no exercise of that name"
                             + (f"; did you mean {', '.join(close)}?" if close else
                                "; 'vaelite exercises list' shows them all"))
    if not wanted and not names:
        if require:
            raise ValueError("no exercises selected: pass --chapter N [N ...] or "
                             "--exercise NAME [NAME ...] ('vaelite exercises list' shows them)")
        return sorted(registry.values(), key=chapter_id)
    chosen = sorted((ex for ex in registry.values() if chapter_id(ex) in wanted or ex.name in names),
                    key=chapter_id)
    seen = {}
    for ex in chosen:
        other = seen.setdefault(function_name(ex), ex)
        if other is not ex:
            raise ValueError(f"exercises {other.name} and {ex.name} both ask for a function "
                             f"called {function_name(ex)}; put them in separate workbooks")
    return chosen

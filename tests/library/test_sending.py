"""With --server, photos are read as their request is sent, in parts that fit in the
reading budget together (twice: the request's body copies them): the pipeline holds
dozens of photos ahead of the server, and 20 of 100 MB held 2 GB while they waited."""

from pyvision.engine.memory import MemoryBudget
from pyvision.engine.pipeline import Failure
from pyvision.library import photos


def library_of(tmp_path, count: int, size: int) -> list:
    paths = []
    for n in range(count):
        path = tmp_path / f"{n}.jpg"
        path.write_bytes(bytes([n]) * size)
        paths.append(path)
    return paths


def test_photos_go_in_parts_that_fit_in_the_budget_twice_and_are_read_only_then(tmp_path, monkeypatch):
    # Twice: the photos' bytes, and the request's body made of them.
    monkeypatch.setattr(photos, "reading", MemoryBudget(500))
    uploads = [photos.upload(path) for path in library_of(tmp_path, 5, 100)]
    requests = []

    def classify(files):
        requests.append([name for name, _ in files])
        return [data[:1] for _, data in files]

    outcomes = photos.send(uploads, classify)
    assert requests == [["0.jpg", "1.jpg"], ["2.jpg", "3.jpg"], ["4.jpg"]]
    assert outcomes == [bytes([n]) for n in range(5)]


def test_a_photo_that_cannot_be_read_when_its_part_is_sent_fails_alone(tmp_path):
    paths = library_of(tmp_path, 3, 100)
    uploads = [photos.upload(path) for path in paths]
    paths[1].unlink()
    paths[2].write_bytes(b"x" * 200)  # grown since it was looked at

    outcomes = photos.send(uploads, lambda files: [name for name, _ in files])
    assert outcomes[0] == "0.jpg"
    assert isinstance(outcomes[1], Failure) and outcomes[1].code == "unreadable_file"
    assert isinstance(outcomes[2], Failure) and "grew" in outcomes[2].message

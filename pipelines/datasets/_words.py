"""Word lists and title noise for the synthetic catalog in :mod:`pipelines.datasets.sample`.

Nouns are written ``"Noun=spec1,spec2"``; ``{n}`` in a feature becomes a small number.
"""

from __future__ import annotations

import re
from random import Random
from typing import NamedTuple


class Category(NamedTuple):
    brands: tuple[str, ...]
    adjectives: tuple[str, ...]
    nouns: tuple[tuple[str, tuple[str, ...]], ...]
    features: tuple[str, ...]
    price: tuple[float, float]


def _category(
    brands: str, adjectives: str, nouns: str, features: str, price: tuple[float, float]
) -> Category:
    parsed = []
    for entry in nouns.split("|"):
        noun, _, specs = entry.partition("=")
        parsed.append((noun, tuple(s for s in specs.split(",") if s)))
    return Category(tuple(brands.split("|")), tuple(adjectives.split("|")), tuple(parsed),
                    tuple(features.split("|")), price)  # fmt: skip


CATEGORIES: dict[str, Category] = {
    "electronics": _category(
        "Voltra|Nexon|Lumina|Corebyte|Audiox|Pixelon",
        "Compact|Pro|Ultra|Slim|Rugged|Smart|Wireless",
        "Wireless Earbuds=|Bluetooth Speaker=10W,20W,40W|USB-C Charger=30W,65W,100W"
        "|Mechanical Keyboard=TKL,Full Size|Gaming Mouse=16000 DPI|Monitor=24 inch,27 inch"
        "|Smart Watch=42mm,46mm|Power Bank=10000mAh,20000mAh|Noise Cancelling Headphones="
        "|Webcam=1080p,4K|Portable SSD=512GB,1TB,2TB|HDMI Cable=1m,2m,5m",
        "Pairs instantly with phones, tablets and laptops.|Battery lasts up to {n} hours."
        "|Supports fast charging over USB-C.|Low latency mode for games and video calls."
        "|Firmware updates arrive through the companion app.|Aluminium housing keeps it cool."
        "|Works with Windows, macOS and Linux without drivers.|Includes a braided cable.",
        (15, 400),
    ),
    "kitchen": _category(
        "Acme|Cookwell|Ferro|Hearth & Co|Küchenwerk|Kitcha",
        "Classic|Premium|Everyday|Insulated|Heavy-Duty|Eco",
        "Steel Water Bottle=500ml,750ml,1L|Chef's Knife=6 inch,8 inch|Frying Pan=24cm,28cm"
        "|French Press=350ml,1L|Cutting Board=Large,Small|Electric Kettle=1.7L"
        "|Blender=600W,1000W|Spice Rack=12 jars|Mixing Bowl Set=3-piece,5-piece"
        "|Cast Iron Skillet=10 inch,12 inch|Coffee Grinder=|Food Storage Containers=10-pack",
        "Dishwasher safe and free of BPA.|Keeps drinks cold for {n} hours."
        "|Forged from high-carbon stainless steel.|The nonstick coating needs very little oil."
        "|Fits neatly in small kitchens and camper vans."
        "|Heats evenly on gas, electric and induction."
        "|A silicone grip stays cool to the touch.|Made from food-grade recycled materials.",
        (8, 150),
    ),
    "books": _category(
        "Northwind Press|Bluefield Books|Lantern House|Orbit Publishing|Marrow & Finch",
        "Illustrated|Complete|Pocket|Essential|Annotated|Modern",
        "Beginner's Guide to Python=Paperback,2nd Edition|Sourdough Baking Handbook=Hardcover"
        "|Mystery Novel Box Set=3 volumes|World Atlas=Hardcover,2026 Edition"
        "|Field Guide to Birds=Paperback|History of Rome=Hardcover,Paperback"
        "|Watercolor Techniques=Spiral Bound|Stoic Philosophy Reader=Paperback"
        "|Home Gardening Manual=|Science Fiction Anthology=Paperback|Chess Strategy Workbook=",
        "Written for readers with no prior experience.|Contains {n} chapters and a full index."
        "|Each chapter ends with exercises and answers.|Printed on acid-free paper."
        "|Features colour photographs throughout.|A bestseller translated into many languages."
        "|Includes maps, timelines and a glossary.|Recommended by teachers and book clubs.",
        (6, 45),
    ),
    "outdoor": _category(
        "Trailhead|Summitry|Northpine|Riverstone|Alpenglow",
        "Lightweight|Waterproof|Ultralight|Rugged|All-Season|Packable",
        "Camping Tent=2-person,4-person|Sleeping Bag=-5C,10C|Hiking Backpack=30L,45L,65L"
        "|Trekking Poles=pair|Headlamp=300 lumen,600 lumen|Camp Stove=|Hammock=single,double"
        "|Water Filter=|Folding Chair=|Cooler Box=25L,40L|Bike Helmet=M,L|Picnic Blanket=",
        "Packs down to the size of a water bottle.|Weighs only {n}0 grams."
        "|Seams are taped against heavy rain.|Sets up in under five minutes."
        "|Reflective details keep you visible at dusk.|Rated for temperatures below freezing."
        "|Made with recycled ripstop nylon.|Comes with a stuff sack and repair kit.",
        (10, 350),
    ),
    "toys": _category(
        "Brickly|Playnest|Wonderkin|Tinkertot|Jumbo Joy",
        "Deluxe|Classic|Educational|Magnetic|Wooden|Glow-in-the-Dark",
        "Building Blocks Set=250 pieces,500 pieces|Puzzle=24 pieces,100 pieces"
        "|Remote Control Car=1:16|Plush Bear=30cm,50cm|Board Game=|Kite=|Marble Run="
        "|Art Easel=|Dollhouse=3-storey|Train Set=battery|Science Kit=8+|Toy Kitchen=",
        "Suitable for children aged {n} and up.|Encourages creativity and fine motor skills."
        "|Non-toxic paints and rounded edges.|Hours of fun for the whole family."
        "|Compatible with other leading brick brands.|Batteries are included."
        "|Folds flat for easy storage.|A perfect birthday or holiday gift.",
        (5, 120),
    ),
    "clothing": _category(
        "Threadline|Urbane|Kova|Meridian Wear|Fjeld",
        "Slim Fit|Relaxed|Organic|Merino|Everyday|Vintage",
        "Cotton T-Shirt=S,M,L,XL|Denim Jacket=M,L|Wool Sweater=M,L,XL|Running Shoes=size 9,size 10"
        "|Rain Jacket=S,M,L|Chino Pants=32x32,34x32|Hoodie=M,L,XL|Baseball Cap=one size"
        "|Merino Socks=3-pack|Leather Belt=32,36|Linen Shirt=M,L|Down Vest=S,M,L",
        "Machine washable at {n} degrees.|Cut from soft breathable cotton."
        "|Reinforced stitching at every seam.|True to size with a modern fit."
        "|Dyed without harsh chemicals.|Moisture-wicking fabric keeps you dry."
        "|Two zip pockets keep essentials safe.|Layers well under a winter coat.",
        (8, 180),
    ),
}

GENERIC: tuple[str, ...] = (
    "Backed by a two-year warranty.",
    "Ships in recyclable packaging.",
    "Customers love it as a gift.",
    "Easy to clean and maintain.",
    "Designed in Europe and tested for everyday use.",
    "Over {n} thousand five-star reviews.",
    "Returns are free within thirty days.",
    "Available in several colours.",
    "One of our most popular products this season.",
    "Pairs well with the rest of the collection.",
)

COLORS: tuple[str, ...] = (
    "black", "white", "silver", "red", "blue", "green", "navy", "grey", "beige", "yellow",
    "pink", "orange",
)  # fmt: skip

EXTRA_WORDS: tuple[str, ...] = (
    "New",
    "(2026 Model)",
    "Original",
    "with Gift Box",
    "- Free Shipping",
)


def _typo(rng: Random, words: list[str]) -> list[str] | None:
    """Swap or drop one inner letter of a longer word (the first letter stays)."""
    picks = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not picks:
        return None
    i = rng.choice(picks)
    w, j = words[i], rng.randrange(1, len(words[i]) - 2)
    w = w[:j] + w[j + 1] + w[j] + w[j + 2 :] if rng.random() < 0.5 else w[:j] + w[j + 1 :]
    return words[:i] + [w] + words[i + 1 :]


def _mutate(rng: Random, kind: str, words: list[str]) -> list[str] | None:
    """One small change to a title's words; None when it does not apply."""
    i = rng.randrange(len(words) - 1) if len(words) > 1 else -1
    if kind == "typo":
        return _typo(rng, words)
    if kind == "extra":
        return words + rng.choice(EXTRA_WORDS).split()
    if i < 0:
        return None
    if kind == "hyphen":
        return words[:i] + [f"{words[i]}-{words[i + 1]}"] + words[i + 2 :]
    if kind == "swap":
        return words[:i] + [words[i + 1], words[i]] + words[i + 2 :]
    spaced = re.sub(r"(\d)([A-Za-z])", r"\1 \2", " ".join(words))  # "750ml" -> "750 ml"
    return spaced.split() if spaced != " ".join(words) else None


def noisy_title(rng: Random, brand: str, title: str, taken: set[str]) -> str:
    """``title`` (which starts with ``brand``) with two small changes and maybe other casing,
    e.g. "Acme Steel Water Bottle 750ml" -> "ACME steel water-bottle 750 ml"; not in ``taken``,
    to which it is added."""
    rest = title[len(brand) :].split()
    for _ in range(50):
        words = rest
        for kind in rng.sample(("typo", "extra", "hyphen", "swap", "unit"), 2):
            words = _mutate(rng, kind, words) or words
        head, tail = brand, " ".join(words)
        case = rng.randrange(4)
        if case == 1:
            head, tail = head.upper(), tail.lower()
        elif case == 2:
            head, tail = head.lower(), tail.lower()
        noisy = f"{head} {tail}"
        if noisy not in taken:
            break
    taken.add(noisy)
    return noisy

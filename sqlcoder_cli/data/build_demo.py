"""Build the bundled demo database: a small online shop.

Why a script and not just a binary file: the data must be reproducible (a test rebuilds it and
compares the dump with the shipped file), reviewable, and free of anything relative to "today" so
answers about dates never drift. Run ``python -m sqlcoder_cli.data.build_demo [OUT]``.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sqlite3
import sys
import tempfile
from pathlib import Path

SEED = 20240601
START_DATE = dt.date(2023, 1, 1)
END_DATE = dt.date(2025, 6, 30)

SCHEMA = """
CREATE TABLE categories (
    category_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    parent_category_id INTEGER REFERENCES categories (category_id) -- NULL for top-level categories
);
CREATE TABLE products (
    product_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    category_id INTEGER NOT NULL REFERENCES categories (category_id),
    unit_price NUMERIC(10, 2) NOT NULL, -- list price in USD
    stock_quantity INTEGER NOT NULL DEFAULT 0,
    is_active BOOLEAN NOT NULL DEFAULT 1 -- 0 = no longer sold
);
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    city TEXT NOT NULL,
    country TEXT NOT NULL,
    signup_date DATE NOT NULL -- 'YYYY-MM-DD'
);
CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
    order_date DATE NOT NULL, -- 'YYYY-MM-DD'
    status TEXT NOT NULL
        CHECK (status IN ('pending', 'shipped', 'delivered', 'cancelled', 'returned')),
    shipping_cost NUMERIC(10, 2) NOT NULL DEFAULT 0
);
CREATE TABLE order_items (
    order_item_id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders (order_id),
    product_id INTEGER NOT NULL REFERENCES products (product_id),
    quantity INTEGER NOT NULL,
    unit_price NUMERIC(10, 2) NOT NULL, -- price actually charged per unit
    discount REAL NOT NULL DEFAULT 0 -- fraction, 0.1 = 10% off
);
CREATE INDEX idx_products_category ON products (category_id);
CREATE INDEX idx_orders_customer ON orders (customer_id);
CREATE INDEX idx_orders_date ON orders (order_date);
CREATE INDEX idx_order_items_order ON order_items (order_id);
CREATE INDEX idx_order_items_product ON order_items (product_id);
"""

# (name, parent name or None)
CATEGORIES: list[tuple[str, str | None]] = [
    ("Electronics", None),
    ("Computers", "Electronics"),
    ("Phones", "Electronics"),
    ("Audio", "Electronics"),
    ("Home & Kitchen", None),
    ("Furniture", "Home & Kitchen"),
    ("Cookware", "Home & Kitchen"),
    ("Sports & Outdoors", None),
    ("Fitness", "Sports & Outdoors"),
    ("Camping", "Sports & Outdoors"),
    ("Books", None),
    ("Toys & Games", None),
]

# category -> (product nouns, price range)
PRODUCT_KINDS: dict[str, tuple[list[str], tuple[float, float]]] = {
    "Computers": (["Laptop", "Desktop PC", "Monitor", "Keyboard", "Mouse", "USB-C Hub", "External SSD"], (15, 1800)),
    "Phones": (["Smartphone", "Phone Case", "Charger", "Screen Protector", "Power Bank"], (8, 1100)),
    "Audio": (["Headphones", "Earbuds", "Bluetooth Speaker", "Soundbar", "Turntable"], (20, 600)),
    "Furniture": (["Desk", "Office Chair", "Bookshelf", "Coffee Table", "Floor Lamp"], (40, 700)),
    "Cookware": (["Frying Pan", "Chef Knife", "Dutch Oven", "Cutting Board", "Kettle"], (12, 250)),
    "Fitness": (["Yoga Mat", "Dumbbell Set", "Resistance Bands", "Jump Rope", "Kettlebell"], (10, 300)),
    "Camping": (["Tent", "Sleeping Bag", "Headlamp", "Camping Stove", "Backpack"], (15, 450)),
    "Books": (["Cookbook", "Novel", "Travel Guide", "Programming Handbook", "Biography"], (8, 60)),
    "Toys & Games": (["Board Game", "Puzzle", "Building Blocks", "Card Game", "RC Car"], (10, 150)),
}
BRANDS = ["Acme", "Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Umbrella", "Vertex"]
VARIANTS = ["Basic", "Pro", "Plus", "Mini", "Max", "Classic", "Lite", "Deluxe"]

FIRST_NAMES = [
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra",
    "Sofia", "Lukas", "Emma", "Noah", "Mia", "Liam", "Chloe", "Hugo", "Lea", "Mateo", "Aiko", "Kenji",
    "Priya", "Arjun", "Olivia", "Ethan", "Ana", "Diego", "Ingrid", "Lars", "Fatima", "Omar",
]
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Muller", "Schmidt", "Dubois", "Rossi", "Tanaka", "Sato", "Patel", "Sharma",
    "Silva", "Santos", "Nielsen", "Johansson", "Kowalski", "Novak", "Haddad", "Kim", "Nguyen", "Chen",
]
# (city, country, weight)
CITIES: list[tuple[str, str, int]] = [
    ("New York", "USA", 12), ("Los Angeles", "USA", 9), ("Chicago", "USA", 7), ("Austin", "USA", 5),
    ("Seattle", "USA", 5), ("Toronto", "Canada", 6), ("Vancouver", "Canada", 4),
    ("London", "United Kingdom", 9), ("Manchester", "United Kingdom", 4), ("Berlin", "Germany", 6),
    ("Munich", "Germany", 4), ("Paris", "France", 6), ("Lyon", "France", 3), ("Madrid", "Spain", 4),
    ("Rome", "Italy", 3), ("Amsterdam", "Netherlands", 3), ("Stockholm", "Sweden", 2),
    ("Tokyo", "Japan", 5), ("Osaka", "Japan", 2), ("Sydney", "Australia", 4),
    ("Melbourne", "Australia", 3), ("Sao Paulo", "Brazil", 4), ("Mexico City", "Mexico", 4),
    ("Mumbai", "India", 4), ("Bangalore", "India", 3),
]
EMAIL_DOMAINS = ["example.com", "mail.example.org", "shopper.example.net"]
STATUSES = ["pending", "shipped", "delivered", "cancelled", "returned"]

N_CUSTOMERS = 500
N_ORDERS = 2500


def _random_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def populate(conn: sqlite3.Connection, seed: int = SEED) -> None:
    """Create the tables and fill them; all randomness comes from one seeded generator."""
    rng = random.Random(seed)
    conn.executescript(SCHEMA)

    cat_ids: dict[str, int] = {}
    for i, (name, parent) in enumerate(CATEGORIES, start=1):
        cat_ids[name] = i
        conn.execute(
            "INSERT INTO categories VALUES (?, ?, ?)", (i, name, cat_ids[parent] if parent else None)
        )

    products: list[tuple[int, float, bool]] = []  # (id, price, active)
    seen_names: set[str] = set()
    pid = 0
    for cat, (nouns, (lo, hi)) in PRODUCT_KINDS.items():
        count = 9 if cat not in ("Books", "Toys & Games") else 8
        made = 0
        while made < count:
            name = f"{rng.choice(BRANDS)} {rng.choice(nouns)} {rng.choice(VARIANTS)}"
            if name in seen_names:
                continue
            seen_names.add(name)
            made += 1
            pid += 1
            price = round(rng.uniform(lo, hi) * rng.uniform(0.6, 1.0), 2)
            price = round(int(price) + 0.99 if price > 5 else price, 2)
            active = rng.random() > 0.1
            stock = rng.randint(0, 400) if active else 0
            products.append((pid, price, active))
            conn.execute(
                "INSERT INTO products VALUES (?, ?, ?, ?, ?, ?)",
                (pid, name, cat_ids[cat], price, stock, int(active)),
            )

    city_weights = [w for _, _, w in CITIES]
    emails: set[str] = set()
    signup: dict[int, dt.date] = {}
    for cid in range(1, N_CUSTOMERS + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        base = f"{first}.{last}".lower()
        email = f"{base}@{rng.choice(EMAIL_DOMAINS)}"
        n = 1
        while email in emails:
            n += 1
            email = f"{base}{n}@{rng.choice(EMAIL_DOMAINS)}"
        emails.add(email)
        city, country, _ = rng.choices(CITIES, weights=city_weights)[0]
        signup[cid] = _random_date(rng, START_DATE, dt.date(2025, 3, 31))
        conn.execute(
            "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)",
            (cid, first, last, email, city, country, signup[cid].isoformat()),
        )

    # Some customers buy much more than others: a skewed weight per customer.
    cust_weights = [rng.paretovariate(1.5) for _ in range(N_CUSTOMERS)]
    cust_ids = list(range(1, N_CUSTOMERS + 1))
    active_products = [p for p in products if p[2]]
    order_rows = []
    for _ in range(N_ORDERS):
        cid = rng.choices(cust_ids, weights=cust_weights)[0]
        order_rows.append((cid, _random_date(rng, signup[cid], END_DATE)))
    order_rows.sort(key=lambda r: (r[1], r[0]))  # order ids increase with time, like a real shop
    item_id = 0
    for oid, (cid, odate) in enumerate(order_rows, start=1):
        age = (END_DATE - odate).days
        if age < 7:
            status = rng.choices(STATUSES, weights=[60, 30, 5, 5, 0])[0]
        elif age < 30:
            status = rng.choices(STATUSES, weights=[5, 35, 50, 7, 3])[0]
        else:
            status = rng.choices(STATUSES, weights=[0, 0, 86, 8, 6])[0]
        shipping = rng.choice([0.0, 0.0, 4.99, 7.99, 12.5])
        conn.execute(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?)", (oid, cid, odate.isoformat(), status, shipping)
        )
        n_items = rng.choices([1, 2, 3, 4, 5], weights=[30, 30, 20, 12, 8])[0]
        for pid_, price, _ in rng.sample(active_products, n_items):
            item_id += 1
            qty = rng.choices([1, 2, 3, 4], weights=[70, 18, 8, 4])[0]
            discount = rng.choice([0.0] * 7 + [0.05, 0.1, 0.15, 0.2])
            conn.execute(
                "INSERT INTO order_items VALUES (?, ?, ?, ?, ?, ?)",
                (item_id, oid, pid_, qty, price, discount),
            )
    conn.commit()


def build(out: Path, seed: int = SEED) -> Path:
    """Build into a temporary file next to ``out`` and rename it into place atomically.

    Why atomic: a half-written demo file would be picked up by a concurrent ``sqlcoder`` run.
    """
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".demo-", suffix=".sqlite.tmp", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()
        conn = sqlite3.connect(tmp)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = DELETE")
            populate(conn, seed)
            conn.execute("PRAGMA foreign_key_check")
            conn.execute("VACUUM")
        finally:
            conn.close()
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print("usage: python -m sqlcoder_cli.data.build_demo [OUT]")
        return 0
    out = Path(args[0]) if args else Path(__file__).with_name("demo.sqlite")
    path = build(out)
    print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

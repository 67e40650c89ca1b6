"""The demo shop `pos seed --demo` puts into an empty reference POS: categories, products, images, stock,
customers. Deterministic, written in one transaction, and never twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Engine, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from syncapi.pos import models as m
from syncapi.pos.errors import PosError
from syncapi.pos.migrate import lock_for_writing
from syncapi.pos.png import swatch_png

#: Side of the demo images, in pixels.
IMAGE_SIDE_PX = 64
#: The second location of the demo shop (a high-street store), besides the web location.
SHOP_LOCATION_CODE = "SHOP1"

COLOURS: dict[str, tuple[int, int, int]] = {
    "Black": (20, 20, 20),
    "White": (245, 245, 240),
    "Navy": (25, 40, 90),
    "Red": (190, 30, 45),
    "Green": (40, 120, 60),
    "Grey": (130, 130, 135),
    "Sand": (210, 190, 150),
    "Blue": (60, 110, 180),
    "Tan": (165, 115, 70),
    "Cream": (240, 230, 200),
    "Pink": (230, 150, 170),
    "Brown": (100, 65, 40),
    "Olive": (110, 115, 50),
}

CATEGORY_TREE: dict[str, tuple[str, ...]] = {
    "Women": ("Dresses", "Tops", "Knitwear"),
    "Men": ("Shirts", "Trousers", "Knitwear"),
    "Accessories": ("Bags", "Scarves", "Hats"),
}

# Styles sold in colour/size variants: (style code, name, category path, price, colours, sizes, attributes).
STYLES = (
    ("TEE-CLASSIC", "Classic Cotton Tee", ("Men", "Shirts"), "18.00", ("Black", "White", "Navy"), ("S", "M", "L"),
     {"material": "Cotton", "brand": "Harbour & Co"}),
    ("DRESS-WRAP", "Wrap Dress", ("Women", "Dresses"), "79.00", ("Red", "Green"), ("8", "10", "12"),
     {"material": "Viscose", "brand": "Maple Lane"}),
    ("JUMPER-MERINO", "Merino Crew Jumper", ("Men", "Knitwear"), "65.00", ("Grey", "Navy"), ("S", "M", "L"),
     {"material": "Merino wool", "brand": "Harbour & Co"}),
)  # fmt: skip

# Plain products: (sku, name, category path, price, sale price, colour, internet active, attributes).
PRODUCTS = (
    ("DRS-LINEN-SHIFT", "Linen Shift Dress", ("Women", "Dresses"), "89.00", None, "Sand", True, {"material": "Linen"}),
    ("DRS-SILK-SLIP", "Silk Slip Dress", ("Women", "Dresses"), "120.00", "95.00", "Black", True, {"material": "Silk"}),
    ("DRS-DENIM-SHIRT", "Denim Shirt Dress", ("Women", "Dresses"), "69.00", None, "Blue", True, {}),
    ("TOP-BRETON", "Striped Breton Top", ("Women", "Tops"), "35.00", None, "Navy", True, {"brand": "Maple Lane"}),
    ("TOP-SILK-CAMI", "Silk Camisole", ("Women", "Tops"), "45.00", None, "Cream", True, {}),
    ("TOP-LINEN-BLOUSE", "Linen Blouse", ("Women", "Tops"), "49.00", "39.00", "White", True, {}),
    ("TOP-RIB-VEST", "Ribbed Vest Top", ("Women", "Tops"), "15.00", None, "Black", True, {}),
    ("KNW-CASH-CARDI", "Cashmere Cardigan", ("Women", "Knitwear"), "149.00", None, "Pink", True,
     {"material": "Cashmere", "brand": "Maple Lane"}),
    ("KNW-CABLE-JUMPER", "Cable Knit Jumper", ("Women", "Knitwear"), "75.00", None, "Cream", True, {}),
    ("KNW-MOHAIR-TANK", "Mohair Tank", ("Women", "Knitwear"), "55.00", None, "Grey", False, {}),
    ("SHT-OXFORD", "Oxford Shirt", ("Men", "Shirts"), "45.00", None, "Blue", True, {"material": "Cotton"}),
    ("SHT-FLANNEL", "Flannel Check Shirt", ("Men", "Shirts"), "49.00", "35.00", "Red", True, {}),
    ("SHT-LINEN-CAMP", "Linen Camp Shirt", ("Men", "Shirts"), "55.00", None, "Olive", True, {}),
    ("TRS-CHINO", "Chino Trousers", ("Men", "Trousers"), "59.00", None, "Tan", True, {}),
    ("TRS-WOOL-SUIT", "Wool Suit Trousers", ("Men", "Trousers"), "110.00", None, "Grey", True, {"material": "Wool"}),
    ("TRS-CORD", "Cord Trousers", ("Men", "Trousers"), "65.00", None, "Brown", True, {}),
    ("TRS-DRAWSTRING", "Drawstring Shorts", ("Men", "Trousers"), "29.00", None, "Navy", True, {}),
    ("KNM-LAMBS-VNECK", "Lambswool V-Neck", ("Men", "Knitwear"), "69.00", None, "Olive", True, {}),
    ("KNM-FISHERMAN", "Fisherman Rollneck", ("Men", "Knitwear"), "89.00", None, "Cream", True, {}),
    ("BAG-LEATHER-TOTE", "Leather Tote Bag", ("Accessories", "Bags"), "135.00", None, "Tan", True,
     {"material": "Leather", "brand": "Saddler"}),
    ("BAG-CANVAS-PACK", "Canvas Backpack", ("Accessories", "Bags"), "65.00", None, "Olive", True, {}),
    ("BAG-CROSSBODY", "Crossbody Pouch", ("Accessories", "Bags"), "45.00", None, "Black", True, {}),
    ("BAG-HOLDALL", "Weekend Holdall", ("Accessories", "Bags"), "160.00", None, "Brown", False, {}),
    ("SCF-WOOL-CHECK", "Wool Check Scarf", ("Accessories", "Scarves"), "39.00", None, "Red", True, {}),
    ("SCF-SILK-SQUARE", "Silk Square Scarf", ("Accessories", "Scarves"), "49.00", None, "Pink", True, {}),
    ("SCF-CASH-WRAP", "Cashmere Wrap", ("Accessories", "Scarves"), "129.00", "99.00", "Grey", True,
     {"material": "Cashmere"}),
    ("HAT-BEANIE", "Beanie Hat", ("Accessories", "Hats"), "19.00", None, "Navy", True, {}),
    ("HAT-PANAMA", "Panama Hat", ("Accessories", "Hats"), "59.00", None, "Cream", True, {"material": "Toquilla straw"}),
    ("HAT-FLAT-CAP", "Wool Flat Cap", ("Accessories", "Hats"), "35.00", None, "Brown", True, {}),
)  # fmt: skip

CUSTOMERS = (
    ("ada.lovelace@example.com", "Ada", "Lovelace", "+44 20 7946 0001"),
    ("grace.hopper@example.com", "Grace", "Hopper", "+1 202 555 0102"),
    ("alan.turing@example.com", "Alan", "Turing", None),
    ("katherine.johnson@example.com", "Katherine", "Johnson", "+1 757 555 0199"),
    ("tim.berners-lee@example.com", "Tim", "Berners-Lee", None),
)

#: The SKU whose presence means the demo catalogue is already there.
MARKER_SKU = PRODUCTS[0][0]


@dataclass(frozen=True)
class SeedResult:
    """What a seed did: `created` False when the demo catalogue was already there (nothing written)."""

    created: bool
    counts: dict[str, int] = field(default_factory=dict)


def demo_sku_count() -> int:
    """How many products the demo catalogue holds."""
    return len(PRODUCTS) + sum(len(colours) * len(sizes) for _, _, _, _, colours, sizes, _ in STYLES)


def _stock_for(index: int, location: int) -> Decimal:
    # A believable spread: mostly a handful, some empty, never random (the demo must be reproducible).
    quantity = (index * 7 + location * 5) % 13
    return Decimal(0 if quantity in (3, 11) else quantity)


def _description(name: str, colour: str | None) -> tuple[str, str]:
    short = f"{name}{f' in {colour.lower()}' if colour else ''}."
    long_html = (
        f"<p>Our {name.lower()}, made to last and cut for everyday wear.</p>"
        f"<ul><li>Colour: {colour or 'as shown'}</li><li>Care: see label</li></ul>"
    )
    return short, long_html


def seed_demo(engine: Engine, location_code: str, shop_location_code: str = SHOP_LOCATION_CODE) -> SeedResult:
    """Fill an empty POS with the demo shop; a POS already holding it is left alone (`created` False).

    Raises `PosError` when the POS holds other products: the demo only goes into an empty POS.
    """
    if shop_location_code == location_code:
        shop_location_code = f"{SHOP_LOCATION_CODE}-2"
    try:
        with Session(engine) as session:
            lock_for_writing(session.connection())
            products = session.scalar(select(func.count()).select_from(m.Product)) or 0
            if products:
                if session.scalar(select(m.Product.id).where(m.Product.sku == MARKER_SKU)) is not None:
                    return SeedResult(created=False)
                raise PosError(
                    f"the POS already holds {products} products that are not the demo catalogue; "
                    "the demo only goes into an empty POS"
                )
            counts = _write_demo(session, location_code, shop_location_code)
            session.commit()
            return SeedResult(created=True, counts=counts)
    except sa_exc.IntegrityError:
        # Another seed committed the same rows first: the demo is there, once.
        return SeedResult(created=False)


def _write_demo(session: Session, location_code: str, shop_location_code: str) -> dict[str, int]:
    categories: dict[tuple[str, ...], m.Category] = {}
    for top, children in CATEGORY_TREE.items():
        parent = categories[(top,)] = m.Category(name=top)
        session.add(parent)
        session.flush()
        for child in children:
            categories[(top, child)] = m.Category(name=child, parent_id=parent.id)
            session.add(categories[(top, child)])
    session.flush()

    rows: list[tuple[m.Product, str | None, dict[str, str]]] = []
    for code, name, path, price, colours, sizes, attributes in STYLES:
        for colour in colours:
            for size in sizes:
                short, long_html = _description(name, colour)
                product = m.Product(
                    sku=f"{code}-{colour.upper()}-{size}",
                    parent_sku=code,
                    name=name,
                    description=short,
                    long_description_html=long_html,
                    category_id=categories[path].id,
                    colour=colour,
                    size=size,
                    retail_price=Decimal(price),
                    sale_price=None,
                    attribute_set="Default",
                    internet_active=True,
                )
                rows.append((product, colour, attributes))
    for sku, name, path, price, sale_price, colour, active, attributes in PRODUCTS:
        short, long_html = _description(name, colour)
        product = m.Product(
            sku=sku,
            name=name,
            description=short,
            long_description_html=long_html,
            category_id=categories[path].id,
            colour=colour,
            retail_price=Decimal(price),
            sale_price=Decimal(sale_price) if sale_price else None,
            attribute_set="Default",
            internet_active=active,
        )
        rows.append((product, colour, attributes))
    session.add_all(product for product, _, _ in rows)
    session.flush()

    images = attributes_written = 0
    for index, (product, colour, attributes) in enumerate(rows):
        rgb = COLOURS[colour or "Grey"]
        session.add(
            m.ProductImage(
                sku=product.sku,
                position=0,
                filename=f"{product.sku.lower()}.png",
                content=swatch_png(IMAGE_SIDE_PX, IMAGE_SIDE_PX, rgb),
            )
        )
        images += 1
        if product.parent_sku is None and index % 3 == 0:
            # A second view of some plain products: the colour with a contrasting band.
            session.add(
                m.ProductImage(
                    sku=product.sku,
                    position=1,
                    filename=f"{product.sku.lower()}-detail.png",
                    content=swatch_png(IMAGE_SIDE_PX, IMAGE_SIDE_PX, rgb, band=COLOURS["White"]),
                )
            )
            images += 1
        for code, value in sorted(attributes.items()):
            session.add(m.ProductAttribute(sku=product.sku, code=code, value=value))
            attributes_written += 1
        session.add(m.Stock(sku=product.sku, location_code=location_code, on_hand=_stock_for(index, 0)))
        session.add(m.Stock(sku=product.sku, location_code=shop_location_code, on_hand=_stock_for(index, 1)))

    for email, first_name, last_name, phone in CUSTOMERS:
        session.add(m.Customer(email=email, first_name=first_name, last_name=last_name, phone=phone))
    session.flush()
    return {
        "categories": len(categories),
        "products": len(rows),
        "product_images": images,
        "product_attributes": attributes_written,
        "stock": 2 * len(rows),
        "customers": len(CUSTOMERS),
    }

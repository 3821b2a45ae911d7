"""Deterministic demo data: customers, journeys, order lines, a Kano survey and a requirements catalogue.

``generate(con, customers=N, seed=S)`` fills the five demo tables of a migrated store exactly as
``docs/DEMO_DATA.md`` describes. Everything is drawn with numpy in whole arrays (loops run over
journey stages and customer groups, never over customers or rows), handed to DuckDB as Arrow
tables, and formatted (ids, names, JSON properties) by DuckDB while it inserts.

The story the data tells:

- customers sign up over two years (more in autumn; a base won earlier joins in the first weeks),
  B2B (~30 %) and B2C, ten countries; their first journey starts on the sign-up day through their
  acquisition channel, and new customers are most active in their first months;
- each customer makes journey *attempts* (a Poisson process with a gamma-distributed rate, so
  purchase counts are heterogeneous as the BG/NBD model assumes) that start at awareness and
  advance stage by stage with drop-off; over all attempts each step converts at
  ``STEP_CONVERSION`` (60/50/45/55 %); attempts follow the season (Q4 peak) and the week
  (B2B on weekdays, B2C more at weekends);
- after a purchase come service contacts, reviews, loyalty sign-ups and a customer-specific
  number of cross- and upsells (the loyalty loop), each with its own order;
- a few order lines come back 3-30 days later: a separate return order (negative quantities) and
  a ``service_contact`` at the same moment with ``{"topic": "returns", "order_id": <return order>,
  "returned_order_id": <original order>}``;
- spend per order depends on the customer's segment and a personal spend level drawn
  independently of purchase frequency (as the Gamma-Gamma model assumes);
- some customers churn (hazard by segment and acquisition channel): in their last months they
  come less often, convert less, complain more, and then stop for good.
"""

from __future__ import annotations

import argparse
import calendar
import json
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa

from analytics import schema, store, worksheets

DEMO_TABLES: tuple[str, ...] = ("customers", "interactions", "orders", "kano_responses", "requirements")

# --- customers ---------------------------------------------------------------------------------

COUNTRIES: tuple[str, ...] = ("DE", "AT", "CH", "GB", "FR", "NL", "IT", "ES", "PL", "US")
COUNTRY_WEIGHTS = np.array([0.30, 0.07, 0.06, 0.10, 0.10, 0.07, 0.08, 0.07, 0.06, 0.09])
CURRENCIES: tuple[str, ...] = ("EUR", "GBP", "CHF", "USD")
COUNTRY_CURRENCY = np.array([0, 0, 2, 1, 0, 0, 0, 0, 0, 3])

# (region, city, weight) per country
PLACES: dict[str, tuple[tuple[str, str, float], ...]] = {
    "DE": (
        ("Bayern", "München", 5),
        ("Bayern", "Nürnberg", 2),
        ("Berlin", "Berlin", 5),
        ("Hamburg", "Hamburg", 3),
        ("Nordrhein-Westfalen", "Köln", 3),
        ("Nordrhein-Westfalen", "Düsseldorf", 2),
        ("Nordrhein-Westfalen", "Dortmund", 2),
        ("Hessen", "Frankfurt am Main", 3),
        ("Baden-Württemberg", "Stuttgart", 3),
        ("Sachsen", "Leipzig", 2),
        ("Niedersachsen", "Hannover", 2),
    ),
    "AT": (("Wien", "Wien", 5), ("Steiermark", "Graz", 2), ("Oberösterreich", "Linz", 2), ("Tirol", "Innsbruck", 1)),
    "CH": (("Zürich", "Zürich", 4), ("Genève", "Genève", 2), ("Bern", "Bern", 2), ("Basel-Stadt", "Basel", 2)),
    "GB": (
        ("England", "London", 6),
        ("England", "Manchester", 2),
        ("England", "Birmingham", 2),
        ("Scotland", "Edinburgh", 1),
        ("Wales", "Cardiff", 1),
    ),
    "FR": (
        ("Île-de-France", "Paris", 5),
        ("Auvergne-Rhône-Alpes", "Lyon", 2),
        ("Provence-Alpes-Côte d'Azur", "Marseille", 2),
        ("Occitanie", "Toulouse", 1),
    ),
    "NL": (("Noord-Holland", "Amsterdam", 4), ("Zuid-Holland", "Rotterdam", 3), ("Utrecht", "Utrecht", 2)),
    "IT": (("Lombardia", "Milano", 4), ("Lazio", "Roma", 3), ("Piemonte", "Torino", 2), ("Campania", "Napoli", 1)),
    "ES": (("Comunidad de Madrid", "Madrid", 4), ("Cataluña", "Barcelona", 3), ("Comunidad Valenciana", "Valencia", 2)),
    "PL": (("Mazowieckie", "Warszawa", 4), ("Małopolskie", "Kraków", 2), ("Dolnośląskie", "Wrocław", 2)),
    "US": (
        ("New York", "New York", 4),
        ("California", "San Francisco", 3),
        ("Illinois", "Chicago", 2),
        ("Texas", "Austin", 2),
    ),
}

# (display, e-mail slug) per country; first names and last names
FIRST_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "DE": (
        ("Anna", "anna"),
        ("Lukas", "lukas"),
        ("Sophie", "sophie"),
        ("Jonas", "jonas"),
        ("Marie", "marie"),
        ("Felix", "felix"),
        ("Jürgen", "juergen"),
        ("Sabine", "sabine"),
        ("Klaus", "klaus"),
        ("Lena", "lena"),
    ),
    "AT": (
        ("Katharina", "katharina"),
        ("Florian", "florian"),
        ("Magdalena", "magdalena"),
        ("Tobias", "tobias"),
        ("Theresa", "theresa"),
        ("Stefan", "stefan"),
    ),
    "CH": (
        ("Noah", "noah"),
        ("Laura", "laura"),
        ("Luca", "luca"),
        ("Mia", "mia"),
        ("Reto", "reto"),
        ("Andrea", "andrea"),
    ),
    "GB": (
        ("Oliver", "oliver"),
        ("Emily", "emily"),
        ("Harry", "harry"),
        ("Charlotte", "charlotte"),
        ("George", "george"),
        ("Amelia", "amelia"),
        ("James", "james"),
    ),
    "FR": (
        ("Camille", "camille"),
        ("Louis", "louis"),
        ("Léa", "lea"),
        ("Hugo", "hugo"),
        ("Chloé", "chloe"),
        ("Julien", "julien"),
    ),
    "NL": (
        ("Daan", "daan"),
        ("Emma", "emma"),
        ("Sem", "sem"),
        ("Julia", "julia"),
        ("Bram", "bram"),
        ("Fleur", "fleur"),
    ),
    "IT": (
        ("Giulia", "giulia"),
        ("Marco", "marco"),
        ("Francesca", "francesca"),
        ("Luca", "luca"),
        ("Chiara", "chiara"),
        ("Matteo", "matteo"),
    ),
    "ES": (
        ("Lucía", "lucia"),
        ("Pablo", "pablo"),
        ("Martina", "martina"),
        ("Javier", "javier"),
        ("Carmen", "carmen"),
        ("Diego", "diego"),
    ),
    "PL": (
        ("Zofia", "zofia"),
        ("Jakub", "jakub"),
        ("Anna", "anna"),
        ("Piotr", "piotr"),
        ("Katarzyna", "katarzyna"),
        ("Tomasz", "tomasz"),
    ),
    "US": (
        ("Emma", "emma"),
        ("Liam", "liam"),
        ("Olivia", "olivia"),
        ("Noah", "noah"),
        ("Ava", "ava"),
        ("Ethan", "ethan"),
        ("Madison", "madison"),
    ),
}
LAST_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "DE": (
        ("Müller", "mueller"),
        ("Schmidt", "schmidt"),
        ("Schneider", "schneider"),
        ("Fischer", "fischer"),
        ("Weber", "weber"),
        ("Meyer", "meyer"),
        ("Wagner", "wagner"),
        ("Becker", "becker"),
        ("Hoffmann", "hoffmann"),
        ("Schäfer", "schaefer"),
        ("Koch", "koch"),
        ("Richter", "richter"),
    ),
    "AT": (
        ("Gruber", "gruber"),
        ("Huber", "huber"),
        ("Bauer", "bauer"),
        ("Wagner", "wagner"),
        ("Pichler", "pichler"),
        ("Steiner", "steiner"),
    ),
    "CH": (
        ("Meier", "meier"),
        ("Keller", "keller"),
        ("Brunner", "brunner"),
        ("Baumann", "baumann"),
        ("Frei", "frei"),
        ("Gerber", "gerber"),
    ),
    "GB": (
        ("Smith", "smith"),
        ("Jones", "jones"),
        ("Taylor", "taylor"),
        ("Brown", "brown"),
        ("Williams", "williams"),
        ("Wilson", "wilson"),
        ("Evans", "evans"),
    ),
    "FR": (
        ("Martin", "martin"),
        ("Bernard", "bernard"),
        ("Dubois", "dubois"),
        ("Thomas", "thomas"),
        ("Robert", "robert"),
        ("Lefèvre", "lefevre"),
    ),
    "NL": (
        ("de Jong", "dejong"),
        ("Jansen", "jansen"),
        ("de Vries", "devries"),
        ("van Dijk", "vandijk"),
        ("Bakker", "bakker"),
        ("Visser", "visser"),
    ),
    "IT": (
        ("Rossi", "rossi"),
        ("Russo", "russo"),
        ("Ferrari", "ferrari"),
        ("Esposito", "esposito"),
        ("Bianchi", "bianchi"),
        ("Romano", "romano"),
    ),
    "ES": (
        ("García", "garcia"),
        ("Fernández", "fernandez"),
        ("López", "lopez"),
        ("Martínez", "martinez"),
        ("Sánchez", "sanchez"),
        ("Pérez", "perez"),
    ),
    "PL": (
        ("Nowak", "nowak"),
        ("Kowalski", "kowalski"),
        ("Wiśniewski", "wisniewski"),
        ("Wójcik", "wojcik"),
        ("Kamiński", "kaminski"),
        ("Lewandowski", "lewandowski"),
    ),
    "US": (
        ("Johnson", "johnson"),
        ("Miller", "miller"),
        ("Davis", "davis"),
        ("Garcia", "garcia"),
        ("Anderson", "anderson"),
        ("Moore", "moore"),
        ("Clark", "clark"),
    ),
}
COMPANY_WORDS: tuple[tuple[str, str], ...] = (
    ("Nordwerk", "nordwerk"),
    ("Alpenblick", "alpenblick"),
    ("Brightline", "brightline"),
    ("Kesselring", "kesselring"),
    ("Vantara", "vantara"),
    ("Lindqvist", "lindqvist"),
    ("Rheinfeld", "rheinfeld"),
    ("Blueharbor", "blueharbor"),
    ("Sonnberg", "sonnberg"),
    ("Meridian", "meridian"),
    ("Ostwind", "ostwind"),
    ("Tannenhof", "tannenhof"),
    ("Greystone", "greystone"),
    ("Falkenrath", "falkenrath"),
    ("Solvia", "solvia"),
    ("Weissach", "weissach"),
    ("Calderon", "calderon"),
    ("Havelland", "havelland"),
    ("Quadrant", "quadrant"),
    ("Elbtal", "elbtal"),
    ("Novaterra", "novaterra"),
    ("Bergmann & Sohn", "bergmann"),
    ("Kranich", "kranich"),
    ("Silverbrook", "silverbrook"),
)
LEGAL_FORMS: dict[str, str] = {
    "DE": "GmbH",
    "AT": "GmbH",
    "CH": "AG",
    "GB": "Ltd",
    "FR": "SAS",
    "NL": "B.V.",
    "IT": "S.r.l.",
    "ES": "S.L.",
    "PL": "Sp. z o.o.",
    "US": "Inc.",
}
INDUSTRIES: tuple[str, ...] = ("manufacturing", "retail", "IT services", "healthcare", "finance", "logistics")
INDUSTRY_WEIGHTS = np.array([0.24, 0.18, 0.2, 0.12, 0.11, 0.15])
INDUSTRY_WORDS: tuple[str, ...] = ("Industries", "Trading", "IT Solutions", "Medical", "Finance", "Logistics")

SEGMENTS: tuple[str, ...] = ("Enterprise", "SME", "Premium consumer", "Value consumer")

CHANNELS: tuple[str, ...] = schema.CHANNELS
_CH = {name: i for i, name in enumerate(CHANNELS)}
DIGITAL = np.array([c in schema.DIGITAL_CHANNELS for c in CHANNELS])

# acquisition channel weights (B2B, B2C) and churn hazard multipliers
ACQUISITION: dict[str, tuple[float, float, float]] = {
    "search": (14, 18, 1.0),
    "email": (10, 3, 1.0),
    "website": (12, 7, 1.0),
    "social media": (6, 16, 1.3),
    "mobile app": (0.5, 5, 0.9),
    "online shop": (3, 8, 1.05),
    "community": (2, 2, 0.7),
    "chat": (1, 1, 1.0),
    "pr": (8, 2, 0.9),
    "promotion": (3, 9, 1.6),
    "word of mouth": (12, 10, 0.6),
    "direct mail": (9, 2, 1.1),
    "store": (2, 8, 0.8),
    "call centre": (8, 1, 0.9),
    "mailing": (6, 2, 1.1),
    "loyalty programme": (0.5, 1, 0.7),
    "offer": (4, 5, 1.5),
}

# yearly churn probability per segment (turned into a constant hazard)
SEGMENT_CHURN = np.array([0.08, 0.2, 0.18, 0.34])

# --- journeys --------------------------------------------------------------------------------

EVENTS: tuple[tuple[str, str], ...] = (
    ("ad_impression", "awareness"),
    ("search_result_click", "awareness"),
    ("pr_mention", "awareness"),
    ("word_of_mouth", "awareness"),
    ("site_visit", "interest"),
    ("newsletter_signup", "interest"),
    ("social_follow", "interest"),
    ("product_view", "consideration"),
    ("compare_products", "consideration"),
    ("request_quote", "consideration"),
    ("add_to_cart", "intent"),
    ("checkout_started", "intent"),
    ("purchase", "purchase"),
    ("service_contact", "service"),
    ("complaint", "service"),
    ("review_written", "loyalty"),
    ("loyalty_signup", "loyalty"),
    ("referral", "loyalty"),
    ("upsell_purchase", "expansion"),
    ("cross_sell_purchase", "expansion"),
)
EVENT_NAMES: tuple[str, ...] = tuple(e for e, _ in EVENTS)
_EV = {name: i for i, name in enumerate(EVENT_NAMES)}
EVENT_STAGE = np.array([schema.STAGES.index(s) for _, s in EVENTS], dtype=np.int8)

# (event, channel, weight for B2B, weight for B2C) per stage; the customer's digital affinity tilts
# the weights towards digital or analogue channels.
COMBOS: dict[str, tuple[tuple[str, str, float, float], ...]] = {
    "awareness": (
        ("ad_impression", "social media", 3, 12),
        ("ad_impression", "promotion", 2, 6),
        ("ad_impression", "direct mail", 4, 2),
        ("ad_impression", "mailing", 3, 2),
        ("ad_impression", "email", 5, 4),
        ("ad_impression", "mobile app", 0.5, 4),
        ("ad_impression", "offer", 2, 4),
        ("search_result_click", "search", 12, 14),
        ("pr_mention", "pr", 5, 2),
        ("word_of_mouth", "word of mouth", 6, 6),
        ("word_of_mouth", "community", 2, 2),
    ),
    "interest": (
        ("site_visit", "website", 12, 10),
        ("site_visit", "online shop", 4, 8),
        ("site_visit", "mobile app", 1, 5),
        ("newsletter_signup", "email", 5, 3),
        ("newsletter_signup", "website", 2, 2),
        ("social_follow", "social media", 2, 6),
        ("social_follow", "community", 1, 1),
    ),
    "consideration": (
        ("product_view", "website", 6, 5),
        ("product_view", "online shop", 4, 9),
        ("product_view", "mobile app", 1, 5),
        ("product_view", "store", 2, 6),
        ("compare_products", "website", 3, 3),
        ("compare_products", "online shop", 2, 3),
        ("compare_products", "chat", 1, 1),
        ("request_quote", "call centre", 6, 0.5),
        ("request_quote", "email", 6, 0.5),
        ("request_quote", "store", 1, 0.5),
    ),
    "intent": (
        ("add_to_cart", "online shop", 8, 12),
        ("add_to_cart", "mobile app", 1, 6),
        ("checkout_started", "online shop", 4, 4),
        ("checkout_started", "store", 1, 4),
        ("checkout_started", "call centre", 5, 1),
    ),
    "purchase": (
        ("purchase", "online shop", 8, 12),
        ("purchase", "mobile app", 1, 5),
        ("purchase", "store", 2, 6),
        ("purchase", "call centre", 6, 1),
    ),
    "service": (
        ("service_contact", "call centre", 6, 4),
        ("service_contact", "chat", 2, 4),
        ("service_contact", "email", 4, 3),
        ("service_contact", "store", 1, 2),
        ("complaint", "call centre", 3, 2),
        ("complaint", "email", 3, 2),
        ("complaint", "chat", 1, 2),
        ("complaint", "social media", 0.5, 2),
    ),
    "loyalty": (
        ("review_written", "online shop", 2, 6),
        ("review_written", "website", 2, 2),
        ("review_written", "social media", 1, 3),
        ("loyalty_signup", "loyalty programme", 3, 5),
        ("loyalty_signup", "store", 0.5, 2),
        ("loyalty_signup", "mobile app", 0.5, 2),
        ("referral", "word of mouth", 4, 3),
        ("referral", "community", 1, 1),
    ),
    "expansion": (
        ("upsell_purchase", "online shop", 4, 6),
        ("upsell_purchase", "call centre", 4, 1),
        ("upsell_purchase", "offer", 2, 2),
        ("cross_sell_purchase", "online shop", 4, 6),
        ("cross_sell_purchase", "store", 1, 3),
        ("cross_sell_purchase", "call centre", 3, 1),
        ("cross_sell_purchase", "mobile app", 0.5, 2),
    ),
}

#: Shape of the gamma distribution of customers' visit rates (smaller: more heterogeneous)
ENGAGEMENT_SHAPE = 1.6
#: Extra activity of new customers (decays over about three months)
ONBOARDING = 0.7

#: Mean conversion from one funnel stage to the next (awareness->interest, ..., intent->purchase).
STEP_CONVERSION = np.array([0.60, 0.50, 0.45, 0.55])
#: Conversion of the very first attempt (the journey that made them a customer).
FIRST_STEP_CONVERSION = np.array([0.9, 0.8, 0.75, 0.8])
#: Median hours between consecutive funnel stages (log-normal gaps: hours to weeks).
STEP_GAP_HOURS = np.array([6.0, 26.0, 40.0, 10.0])

MONTH_WEIGHT = np.array([0.85, 0.82, 0.92, 0.95, 0.97, 0.9, 0.85, 0.8, 1.0, 1.12, 1.45, 1.4])
DOW_WEIGHT = np.array(  # Monday..Sunday; B2B, B2C
    [[1.1, 1.12, 1.1, 1.05, 0.92, 0.28, 0.18], [0.88, 0.9, 0.93, 0.98, 1.05, 1.25, 1.15]]
)
HOUR_WEIGHT = np.array(  # 0..23; B2B office hours, B2C evenings
    [
        [
            0.1,
            0.05,
            0.05,
            0.05,
            0.05,
            0.1,
            0.4,
            1.2,
            3,
            4.5,
            4.8,
            4.5,
            3,
            3.8,
            4.4,
            4.2,
            3.6,
            2.5,
            1.2,
            0.7,
            0.5,
            0.4,
            0.3,
            0.2,
        ],
        [
            0.6,
            0.3,
            0.15,
            0.1,
            0.1,
            0.2,
            0.6,
            1.2,
            1.8,
            2.0,
            2.2,
            2.5,
            2.9,
            2.6,
            2.4,
            2.4,
            2.6,
            3.0,
            3.6,
            4.4,
            4.8,
            4.4,
            3.2,
            1.6,
        ],
    ]
)

SERVICE_TOPICS: tuple[str, ...] = ("delivery", "billing", "product", "returns")

# --- products ---------------------------------------------------------------------------------

CATEGORIES: tuple[str, ...] = (
    "Computing",
    "Audio and video",
    "Smart home",
    "Office supplies",
    "Furniture",
    "Mobile",
    "Services",
)
# sku, description, category index, list price in EUR, popularity, return rate
PRODUCTS: tuple[tuple[str, str, int, float, float, float], ...] = (
    ("CMP-1001", "Laptop Pro 14", 0, 1299.0, 3, 0.04),
    ("CMP-1002", "Laptop Air 13", 0, 899.0, 4, 0.04),
    ("CMP-1003", "Desktop workstation", 0, 1549.0, 1.5, 0.02),
    ("CMP-1004", "27-inch monitor", 0, 329.0, 4, 0.03),
    ("CMP-1005", "24-inch monitor", 0, 189.0, 4, 0.03),
    ("CMP-1006", "Docking station", 0, 219.0, 3, 0.03),
    ("CMP-1007", "Wireless keyboard", 0, 59.9, 5, 0.02),
    ("CMP-1008", "Ergonomic mouse", 0, 39.9, 6, 0.02),
    ("CMP-1009", "HD webcam", 0, 79.9, 3, 0.03),
    ("CMP-1010", "USB-C hub", 0, 34.9, 5, 0.02),
    ("AUD-2001", "Noise-cancelling headphones", 1, 279.0, 4, 0.06),
    ("AUD-2002", "Wireless earbuds", 1, 149.0, 5, 0.07),
    ("AUD-2003", "Conference speakerphone", 1, 199.0, 2, 0.03),
    ("AUD-2004", "Smart speaker", 1, 99.0, 4, 0.04),
    ("AUD-2005", "Soundbar", 1, 349.0, 2, 0.05),
    ("SMH-3001", "Smart thermostat", 2, 199.0, 3, 0.05),
    ("SMH-3002", "Video doorbell", 2, 179.0, 3, 0.05),
    ("SMH-3003", "Smart light starter kit", 2, 129.0, 4, 0.04),
    ("SMH-3004", "Indoor security camera", 2, 149.0, 3, 0.05),
    ("SMH-3005", "Smart plug 4-pack", 2, 49.9, 5, 0.03),
    ("OFS-4001", "Copy paper A4, box of 5 reams", 3, 29.9, 6, 0.01),
    ("OFS-4002", "Toner cartridge black", 3, 89.0, 4, 0.02),
    ("OFS-4003", "Ink multipack", 3, 54.9, 4, 0.02),
    ("OFS-4004", "Notebooks, 10-pack", 3, 19.9, 4, 0.01),
    ("OFS-4005", "Desk organiser", 3, 24.9, 3, 0.02),
    ("OFS-4006", "Label printer", 3, 119.0, 2, 0.03),
    ("FUR-5001", "Ergonomic office chair", 4, 459.0, 3, 0.06),
    ("FUR-5002", "Standing desk", 4, 649.0, 2, 0.05),
    ("FUR-5003", "Monitor arm", 4, 129.0, 3, 0.03),
    ("FUR-5004", "LED desk lamp", 4, 69.9, 4, 0.03),
    ("FUR-5005", "Filing cabinet", 4, 239.0, 1.5, 0.03),
    ("MOB-6001", "Smartphone X", 5, 799.0, 4, 0.05),
    ("MOB-6002", "Tablet 11", 5, 549.0, 3, 0.05),
    ("MOB-6003", "Phone case", 5, 24.9, 6, 0.04),
    ("MOB-6004", "Wireless charger", 5, 39.9, 5, 0.03),
    ("MOB-6005", "Power bank", 5, 49.9, 5, 0.03),
    ("SRV-7001", "Extended warranty, 2 years", 6, 79.0, 3, 0.0),
    ("SRV-7002", "On-site installation", 6, 149.0, 1.5, 0.0),
    ("SRV-7003", "Data migration service", 6, 199.0, 1, 0.0),
    ("SRV-7004", "Annual support plan", 6, 299.0, 1.5, 0.0),
)
# category preference per segment (Enterprise, SME, Premium consumer, Value consumer)
CATEGORY_PREFERENCE = np.array(
    [
        [5, 1, 0.5, 4, 3, 2, 3],
        [4, 1, 1, 4, 2, 2, 1.5],
        [3, 4, 4, 0.5, 1.5, 4, 1],
        [2, 3, 3, 1, 1, 4, 0.3],
    ]
)
PRICE_ELASTICITY = np.array([0.15, 0.0, 0.25, -0.4])  # >0 prefers dear products
QUANTITY_MEAN = np.array([4.0, 1.5, 0.12, 0.08])  # extra units per line beyond 1
CATEGORY_QUANTITY = np.array([1.0, 0.8, 0.8, 3.0, 1.0, 0.8, 0.3])
#: Mean cross- and upsells after each purchase, per segment (times the square root of the customer's engagement)
EXPANSION_RATE = np.array([1.2, 0.95, 0.8, 0.55])
LINES_P = np.array([0.5, 0.35, 0.15, 0.08])  # binomial(4, p) extra lines per order

# --- Kano survey ----------------------------------------------------------------------------

KANO_CATEGORIES: tuple[str, ...] = ("A", "O", "M", "I", "R", "Q")
# (functional, dysfunctional) answer codes and relative frequency for each category
KANO_CELLS: dict[str, tuple[tuple[int, int, float], ...]] = {
    "A": ((1, 3, 5), (1, 4, 4), (1, 2, 1)),
    "O": ((1, 5, 1),),
    "M": ((2, 5, 5), (3, 5, 2), (4, 5, 2)),
    "I": ((3, 3, 5), (3, 4, 2), (4, 3, 2), (2, 3, 1), (3, 2, 1), (4, 4, 2), (2, 2, 1), (2, 4, 1), (4, 2, 0.5)),
    "R": ((5, 1, 4), (4, 1, 2), (5, 2, 1), (5, 3, 2), (3, 1, 1), (5, 4, 1), (2, 1, 0.5)),
    "Q": ((1, 1, 1), (5, 5, 1)),
}
KANO_IMPORTANCE = {"A": 5.8, "O": 7.2, "M": 7.6, "I": 3.6, "R": 2.6, "Q": 4.5}
# feature -> (category shares A, O, M, I, R for consumers in 2025, 2026; shares for business customers
# in 2025, 2026 or None for the same as consumers)
KANO_FEATURES: dict[str, tuple] = {
    "Free returns": ((0.1, 0.2, 0.52, 0.16, 0.02), None, None, None),
    "Order tracking": ((0.06, 0.22, 0.55, 0.15, 0.02), None, None, None),
    "Secure payment options": ((0.04, 0.18, 0.62, 0.14, 0.02), None, None, None),
    "Same-day delivery": ((0.5, 0.2, 0.06, 0.22, 0.02), (0.26, 0.46, 0.1, 0.16, 0.02), None, None),
    "Live chat support": ((0.2, 0.45, 0.12, 0.2, 0.03), None, None, None),
    "Personal account manager": ((0.42, 0.1, 0.04, 0.38, 0.06), None, (0.2, 0.48, 0.16, 0.14, 0.02), None),
    "Product recommendations": ((0.22, 0.1, 0.04, 0.52, 0.12), None, None, None),
    "Loyalty points": ((0.28, 0.4, 0.06, 0.24, 0.02), None, None, None),
    "Eco-friendly packaging": ((0.52, 0.16, 0.06, 0.24, 0.02), (0.44, 0.2, 0.12, 0.22, 0.02), None, None),
    "Video product demos": ((0.26, 0.08, 0.02, 0.58, 0.06), None, None, None),
    "Weekly promotional newsletter": ((0.04, 0.04, 0.02, 0.36, 0.54), None, None, None),
    "Sign-in with social media account": ((0.1, 0.04, 0.02, 0.46, 0.38), None, None, None),
}
KANO_QUESTIONABLE = 0.03
KANO_RESPONDENTS = 300
KANO_WAVES: tuple[str, ...] = ("2025", "2026")

# --- requirements -----------------------------------------------------------------------------

# title, description, source, type, background, goal, moscow, kano feature, status, effort (person-days),
# urgency, importance, risk, owner
REQUIREMENTS: tuple[tuple, ...] = (
    (
        "Prepaid return label in every parcel",
        "Each shipment carries a return label so a return needs no extra step.",
        "survey",
        "business",
        "Customers name awkward returns as the main reason to avoid ordering twice.",
        "Fewer abandoned repeat orders",
        "must",
        "Free returns",
        "done",
        8,
        5,
        5,
        2,
        "Logistics",
    ),
    (
        "Live shipment status in the account",
        "Show the carrier status of every open order in the customer account.",
        "feedback",
        "functional",
        "Service receives many 'where is my parcel' calls.",
        "Halve delivery enquiries",
        "must",
        "Order tracking",
        "done",
        12,
        4,
        5,
        2,
        "E-commerce",
    ),
    (
        "Shipment notifications by e-mail and app",
        "Send a message when an order ships and when it is out for delivery.",
        "feedback",
        "functional",
        "Customers want to plan their day around the delivery.",
        "Fewer missed deliveries",
        "should",
        "Order tracking",
        "in progress",
        6,
        3,
        4,
        2,
        "E-commerce",
    ),
    (
        "Strong customer authentication for card payments",
        "Payments pass 3-D Secure and keep card data out of our systems.",
        "market research",
        "non-functional",
        "Required by payment regulation in the EU.",
        "Compliant, trusted checkout",
        "must",
        "Secure payment options",
        "done",
        15,
        5,
        5,
        4,
        "Payments",
    ),
    (
        "Pay by invoice for business accounts",
        "Approved business customers can pay within 30 days against invoice.",
        "interview",
        "business",
        "Purchasing departments of larger customers cannot pay by card.",
        "Win and keep enterprise accounts",
        "must",
        "Secure payment options",
        "accepted",
        10,
        4,
        5,
        3,
        "Finance",
    ),
    (
        "Same-day delivery in five metropolitan areas",
        "Orders placed before noon arrive the same evening in selected cities.",
        "market research",
        "business",
        "Competitors started same-day delivery in the largest cities.",
        "Keep pace with competitors in cities",
        "should",
        "Same-day delivery",
        "in progress",
        30,
        4,
        4,
        4,
        "Logistics",
    ),
    (
        "Live chat during business hours",
        "A service agent answers questions in a chat window on every product page.",
        "survey",
        "functional",
        "Survey respondents rate chat as the contact channel they prefer.",
        "Faster answers, higher conversion",
        "should",
        "Live chat support",
        "done",
        14,
        3,
        4,
        2,
        "Customer service",
    ),
    (
        "Chat hand-over to a phone call",
        "An agent can turn a chat into a call without the customer repeating the issue.",
        "interview",
        "functional",
        "Complex problems in chat take long to resolve.",
        "Shorter resolution time",
        "could",
        "Live chat support",
        "proposed",
        9,
        2,
        3,
        3,
        "Customer service",
    ),
    (
        "Named account manager for key accounts",
        "Each enterprise account gets a named contact with a deputy.",
        "interview",
        "business",
        "Key accounts ask for one person who knows their history.",
        "Retain the largest accounts",
        "must",
        "Personal account manager",
        "accepted",
        20,
        4,
        5,
        2,
        "Sales",
    ),
    (
        "Recommendations on the product page",
        "Show accessories and alternatives that other buyers chose.",
        "market research",
        "functional",
        "Cross-selling share is below the market average.",
        "More items per order",
        "could",
        "Product recommendations",
        "in progress",
        12,
        2,
        3,
        3,
        "E-commerce",
    ),
    (
        "Points for every purchase and review",
        "Loyalty members collect points for purchases and reviews and redeem them at checkout.",
        "survey",
        "business",
        "Repeat purchase rate fell in the last two quarters.",
        "More repeat purchases",
        "should",
        "Loyalty points",
        "accepted",
        25,
        3,
        4,
        3,
        "Marketing",
    ),
    (
        "Recyclable packaging without plastic fill",
        "Ship in recyclable cardboard with paper filling only.",
        "feedback",
        "non-functional",
        "Customers post photos of over-packed parcels.",
        "Positive brand perception",
        "could",
        "Eco-friendly packaging",
        "proposed",
        18,
        2,
        3,
        2,
        "Logistics",
    ),
    (
        "Short product videos for top sellers",
        "A one-minute video on the product page of the 50 best-selling items.",
        "market research",
        "functional",
        "Video raises conversion in comparable shops.",
        "Higher conversion on product pages",
        "could",
        "Video product demos",
        "proposed",
        16,
        1,
        2,
        2,
        "Marketing",
    ),
    (
        "Newsletter frequency chosen by the customer",
        "Customers pick weekly, monthly or no newsletter when they sign up.",
        "feedback",
        "functional",
        "Unsubscribe rate and complaints about too many mails rose.",
        "Fewer unsubscribes and complaints",
        "should",
        "Weekly promotional newsletter",
        "accepted",
        5,
        3,
        3,
        1,
        "Marketing",
    ),
    (
        "Sign-in with social media accounts",
        "Offer sign-in with common social networks besides e-mail and password.",
        "market research",
        "functional",
        "Suggested by an agency; survey shows many customers dislike it.",
        "Faster registration",
        "won't",
        "Sign-in with social media account",
        "rejected",
        8,
        1,
        1,
        3,
        "E-commerce",
    ),
    (
        "Erase a customer's data on request",
        "Delete or anonymise one customer's personal data everywhere within 30 days.",
        "market research",
        "non-functional",
        "Required by the GDPR.",
        "Compliance, trust",
        "must",
        None,
        "done",
        10,
        5,
        5,
        5,
        "Data protection",
    ),
    (
        "Checkout page loads within two seconds",
        "The checkout answers in under two seconds for 95 % of requests.",
        "feedback",
        "non-functional",
        "Abandoned carts cluster on slow checkout pages.",
        "Fewer abandoned checkouts",
        "must",
        None,
        "in progress",
        12,
        4,
        4,
        3,
        "IT",
    ),
    (
        "Quote request with uploaded parts list",
        "Business customers upload a list of items and receive a quote within a day.",
        "interview",
        "functional",
        "Sales re-types lists sent by e-mail.",
        "Faster quotes for business customers",
        "should",
        None,
        "accepted",
        10,
        3,
        4,
        2,
        "Sales",
    ),
    (
        "Complaint tracking with response deadline",
        "Every complaint gets an owner and an answer within two working days.",
        "interview",
        "business",
        "Customers who complain and hear nothing leave soon after.",
        "Lower churn after complaints",
        "must",
        None,
        "in progress",
        9,
        5,
        5,
        2,
        "Customer service",
    ),
    (
        "Win-back offer for inactive customers",
        "Customers without activity for 90 days receive a personal offer.",
        "market research",
        "business",
        "Churn analysis shows a window in which customers can still be saved.",
        "Win back customers at risk",
        "should",
        None,
        "accepted",
        7,
        4,
        4,
        3,
        "Marketing",
    ),
    (
        "Order history export for business accounts",
        "Business customers download their order lines as a spreadsheet.",
        "interview",
        "functional",
        "Controllers of business customers reconcile invoices by hand.",
        "Less manual work for business customers",
        "could",
        None,
        "proposed",
        4,
        2,
        3,
        1,
        "E-commerce",
    ),
    (
        "Accessible shop (WCAG 2.1 AA)",
        "The shop can be used with a keyboard and a screen reader.",
        "market research",
        "non-functional",
        "Accessibility becomes mandatory for online shops in the EU.",
        "Compliance, reach every customer",
        "must",
        None,
        "accepted",
        25,
        4,
        4,
        4,
        "E-commerce",
    ),
    (
        "Store pick-up of online orders",
        "Customers choose a store and collect their order the next day.",
        "survey",
        "functional",
        "Store customers ask to order online and collect.",
        "Connect online and store channels",
        "should",
        None,
        "proposed",
        20,
        3,
        4,
        3,
        "Retail",
    ),
    (
        "Augmented-reality furniture preview",
        "Show furniture in the customer's room through the phone camera.",
        "market research",
        "functional",
        "Interesting, but customers rate it as unimportant.",
        "Fewer furniture returns",
        "won't",
        None,
        "rejected",
        35,
        1,
        2,
        5,
        "E-commerce",
    ),
    (
        "Monthly consolidated invoice",
        "Business accounts may receive one invoice per month for all orders.",
        "interview",
        "business",
        "Purchasing departments of several key accounts ask for it.",
        "Easier business with key accounts",
        "could",
        None,
        "proposed",
        6,
        2,
        3,
        2,
        "Finance",
    ),
)


# --- helpers ----------------------------------------------------------------------------------


def _grouped_choice(rng: np.random.Generator, groups: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Draw one category per row from the weight row of its group: (n,) groups, (g, k) weights -> (n,) indices."""
    w = np.asarray(weights, dtype=float)
    cum = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    flat = (cum + np.arange(len(w))[:, None]).ravel()
    u = rng.random(len(groups))
    pos = np.searchsorted(flat, groups + u, side="right")
    return (pos - groups * w.shape[1]).clip(0, w.shape[1] - 1)


def _rank_within(keys: np.ndarray) -> np.ndarray:
    """1-based position of each row within its run of equal, contiguous keys: (n,) -> (n,)."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    start = np.r_[True, keys[1:] != keys[:-1]]
    first = np.flatnonzero(start)
    run = np.cumsum(start) - 1
    return (np.arange(n) - first[run] + 1).astype(np.int32)


def _dictionary(codes: np.ndarray, values) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, dtype=np.int32)), pa.array(list(values)))


def _start_date(end: date, years: int) -> date:
    year = end.year - years
    day = min(end.day, calendar.monthrange(year, end.month)[1])
    return date(year, end.month, day) + timedelta(days=1)


@dataclass
class DemoData:
    """The generated tables as Arrow tables (raw codes; DuckDB formats them while inserting)."""

    customers: pa.Table
    interactions: pa.Table
    orders: pa.Table
    kano: pa.Table
    requirements: pa.Table
    widths: dict


# --- generation -------------------------------------------------------------------------------


def _customers(rng: np.random.Generator, n: int, start: date, days: int) -> dict:
    """Customer attributes as arrays of length n (codes into the module's tuples)."""
    b2b = rng.random(n) < 0.3
    country = rng.choice(len(COUNTRIES), size=n, p=COUNTRY_WEIGHTS / COUNTRY_WEIGHTS.sum())

    # place, first and last name per country (loop over ten countries)
    place = np.zeros(n, dtype=np.int32)
    first = np.zeros(n, dtype=np.int32)
    last = np.zeros(n, dtype=np.int32)
    place_offset = first_offset = last_offset = 0
    place_rows: list[tuple[str, str]] = []
    first_rows: list[tuple[str, str]] = []
    last_rows: list[tuple[str, str]] = []
    for ci, code in enumerate(COUNTRIES):
        rows = np.flatnonzero(country == ci)
        pw = np.array([w for _, _, w in PLACES[code]], dtype=float)
        place[rows] = place_offset + rng.choice(len(pw), size=len(rows), p=pw / pw.sum())
        first[rows] = first_offset + rng.integers(0, len(FIRST_NAMES[code]), len(rows))
        last[rows] = last_offset + rng.integers(0, len(LAST_NAMES[code]), len(rows))
        place_rows += [(r, c) for r, c, _ in PLACES[code]]
        first_rows += list(FIRST_NAMES[code])
        last_rows += list(LAST_NAMES[code])
        place_offset += len(pw)
        first_offset += len(FIRST_NAMES[code])
        last_offset += len(LAST_NAMES[code])

    company = rng.integers(0, len(COMPANY_WORDS), n)
    industry = rng.choice(len(INDUSTRIES), size=n, p=INDUSTRY_WEIGHTS / INDUSTRY_WEIGHTS.sum())
    employees = np.maximum(1, np.round(np.exp(rng.normal(4.0, 1.4, n)))).astype(np.int64)
    birth_year = np.clip(np.round(rng.normal(1981, 14, n)), 1940, 2006).astype(np.int64)
    age = start.year + 1 - birth_year
    premium = rng.random(n) < np.where(age > 40, 0.38, 0.22)
    segment = np.where(b2b, np.where(employees >= 250, 0, 1), np.where(premium, 2, 3))

    acq_w = np.array([[ACQUISITION[c][0] for c in CHANNELS], [ACQUISITION[c][1] for c in CHANNELS]])
    acquisition = _grouped_choice(rng, (~b2b).astype(np.int64), acq_w)

    # sign-ups: more in autumn, growing over time
    day_dates = np.datetime64(start) + np.arange(days)
    months = day_dates.astype("datetime64[M]").astype(int) % 12
    signup_w = np.array([0.8, 0.85, 0.95, 0.95, 0.9, 0.85, 0.8, 0.85, 1.25, 1.5, 1.55, 1.2])[months]
    # a base of customers won before the history starts joins in its first weeks
    signup_w = signup_w * (1.0 + 4.0 * np.exp(-np.arange(days) / 40.0))
    signup = rng.choice(days, size=n, p=signup_w / signup_w.sum())

    # digital affinity: young consumers most, business customers in between
    affinity = np.where(b2b, rng.normal(0.55, 0.15, n), 1.05 - (age - 18) / 60 + rng.normal(0, 0.12, n))
    affinity_level = np.digitize(affinity, [0.45, 0.7])  # 0 analogue, 1 mixed, 2 digital

    # behaviour: visit rate (gamma heterogeneity), conversion propensity, spend level, churn
    engagement = rng.gamma(ENGAGEMENT_SHAPE, 1 / ENGAGEMENT_SHAPE, n) * np.array([1.25, 1.05, 1.0, 0.95])[segment]
    propensity = np.exp(rng.normal(0, 0.3, n) - 0.045)
    spend = np.exp(rng.normal(0, 0.45, n) - 0.1)
    hazard = -np.log1p(-SEGMENT_CHURN[segment]) / 365.0
    hazard = hazard * np.array([ACQUISITION[c][2] for c in CHANNELS])[acquisition]
    hazard = hazard * np.exp(rng.normal(0, 0.35, n))
    lifetime = np.maximum(rng.exponential(1.0 / hazard), 1.0)  # everyone shows up on the sign-up day
    stop = np.minimum(signup + lifetime, float(days))  # in days since start; activity ends here
    churned = signup + lifetime < days

    return {
        "n": n,
        "b2b": b2b,
        "country": country,
        "place": place,
        "first": first,
        "last": last,
        "company": company,
        "industry": industry,
        "employees": employees,
        "birth_year": birth_year,
        "segment": segment,
        "acquisition": acquisition,
        "signup": signup,
        "affinity_level": affinity_level,
        "engagement": engagement,
        "propensity": propensity,
        "spend": spend,
        "stop": stop,
        "churned": churned,
        "place_rows": place_rows,
        "first_rows": first_rows,
        "last_rows": last_rows,
    }


def _day_weights(start: date, days: int) -> np.ndarray:
    """Relative activity per calendar day for B2B and B2C: (2, days), maximum 1."""
    day_dates = np.datetime64(start) + np.arange(days)
    months = day_dates.astype("datetime64[M]").astype(int) % 12
    dow = (day_dates.astype("datetime64[D]").astype(int) + 3) % 7  # 1970-01-01 was a Thursday
    w = MONTH_WEIGHT[months][None, :] * DOW_WEIGHT[:, dow]
    # the weeks before Christmas and Black Friday weekend
    md = (months + 1) * 100 + (day_dates - day_dates.astype("datetime64[M]")).astype(int) + 1
    w = w * np.where((md >= 1125) & (md <= 1130), 1.35, 1.0) * np.where((md >= 1201) & (md <= 1222), 1.15, 1.0)
    return w / w.max(axis=1, keepdims=True)


def _combo_tables(stage: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For one stage: event codes (k,), channel codes (k,), weights per (type x affinity) group (6, k)."""
    combos = COMBOS[stage]
    events = np.array([_EV[e] for e, _, _, _ in combos])
    channels = np.array([_CH[c] for _, c, _, _ in combos])
    digital = DIGITAL[channels]
    weights = np.zeros((6, len(combos)))
    for g in range(6):
        b2c, level = divmod(g, 3)
        base = np.array([c[3] if b2c else c[2] for c in combos], dtype=float)
        tilt = np.where(digital, (0.55, 1.0, 1.6)[level], (1.6, 1.0, 0.5)[level])
        weights[g] = base * tilt
    return events, channels, weights


class _Events:
    """Accumulates interaction rows from the generation steps."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, cust, t, event, channel, *, kind=0, research=None, ref=None, rating=None, topic=None) -> None:
        m = len(cust)
        self.parts.append(
            {
                "cust": np.asarray(cust, dtype=np.int64),
                "t": np.asarray(t, dtype=float),
                "event": np.asarray(event, dtype=np.int8),
                "channel": np.asarray(channel, dtype=np.int8),
                "kind": np.broadcast_to(np.asarray(kind, dtype=np.int8), (m,)).copy(),
                "research": np.zeros(m, bool) if research is None else np.asarray(research, bool),
                "ref": np.full(m, -1, np.int64) if ref is None else np.asarray(ref, np.int64),
                "rating": np.zeros(m, np.int8) if rating is None else np.asarray(rating, np.int8),
                "topic": np.zeros(m, np.int8) if topic is None else np.asarray(topic, np.int8),
            }
        )

    def concat(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}


# kinds of interaction properties
_NONE, _PURCHASE, _REVIEW, _SERVICE, _RETURN, _EXPANSION = range(6)


def _journeys(rng: np.random.Generator, c: dict, days: int, start: date, per_customer: float) -> tuple[dict, dict]:
    """Interactions and order headers: (events dict of arrays, orders dict of arrays)."""
    n = c["n"]
    b2c = (~c["b2b"]).astype(np.int64)
    group = b2c * 3 + c["affinity_level"]
    weights = _day_weights(start, days)
    signup = c["signup"].astype(float)
    stop = c["stop"]
    churned = c["churned"]

    # expected interactions per attempt (first and later ones), to scale the attempt rate
    later = np.r_[1.0, np.cumprod(STEP_CONVERSION)]
    first = np.r_[1.0, np.cumprod(FIRST_STEP_CONVERSION)]
    after_purchase = 0.5 + float((EXPANSION_RATE[c["segment"]] * np.sqrt(c["engagement"])).mean())
    per_first, per_later = first.sum() + first[-1] * after_purchase, later.sum() + later[-1] * after_purchase
    extra_churn = 1.0
    # 0.72: part of the first journey's follow-ups falls after churn or after the end of the history
    wanted_later = max(per_customer - 0.72 * (per_first + extra_churn * churned.mean()), 0.0) / per_later

    # --- attempts: a Poisson process per customer, thinned by season, week and approaching churn
    span = np.maximum(stop - signup, 0.0)
    rate = c["engagement"] / max(float((c["engagement"] * span).sum()), 1e-9) * wanted_later * n
    mean_w = weights.mean(axis=1)[b2c]
    boost = 1.0 + ONBOARDING * np.minimum(1.0, 90.0 / np.maximum(span, 1.0))  # mean onboarding boost
    k = rng.poisson(rate * span / mean_w * 1.08 * (1.0 + ONBOARDING) / boost)
    ci = np.repeat(np.arange(n), k)
    t = signup[ci] + rng.random(len(ci)) * span[ci]
    day = np.minimum(t.astype(np.int64), days - 1)
    accept = weights[b2c[ci], day]
    to_stop = stop[ci] - t
    accept = accept * np.where(churned[ci], np.clip(to_stop / 100.0, 0.15, 1.0) ** 0.8, 1.0)
    # new customers are most active in their first months, then settle down
    accept = accept * (1.0 + ONBOARDING * np.exp(-(t - signup[ci]) / 90.0)) / (1.0 + ONBOARDING)
    keep = rng.random(len(ci)) < accept
    ci, day = ci[keep], day[keep]
    # the first attempt of every customer is on the sign-up day
    ci = np.concatenate([np.arange(n), ci])
    day = np.concatenate([c["signup"], day])
    is_first = np.r_[np.ones(n, bool), np.zeros(len(ci) - n, bool)]
    hour = _grouped_choice(rng, b2c[ci], HOUR_WEIGHT)
    t0 = day + (hour + rng.random(len(ci))) / 24.0
    m = len(ci)

    # --- progress through the funnel stages. Later attempts vary with the customer's propensity,
    # the season and approaching churn; their level is calibrated so that, over all attempts
    # (first ones included), each step converts at STEP_CONVERSION on average.
    month = (np.datetime64(start) + day).astype("datetime64[M]").astype(int) % 12
    near_churn = churned[ci] & (stop[ci] - t0 < 120)
    shape = np.repeat(c["propensity"][ci, None], 4, axis=1)
    shape[:, 3] *= np.where(month >= 10, 1.12, 1.0)  # Black Friday and Christmas close more deals
    shape[:, 2:] *= np.where(near_churn, 0.6, 1.0)[:, None]
    p = np.empty((m, 4))
    reach = np.ones(m)
    later_rows = ~is_first
    for s in range(4):
        first_part = reach[is_first].sum() * FIRST_STEP_CONVERSION[s]
        later_part = (reach[later_rows] * shape[later_rows, s]).sum()
        level = (STEP_CONVERSION[s] * reach.sum() - first_part) / later_part if later_part > 0 else STEP_CONVERSION[s]
        p[:, s] = np.where(is_first, FIRST_STEP_CONVERSION[s], np.clip(level * shape[:, s], 0.01, 0.97))
        reach = reach * p[:, s]
    advance = np.cumprod(rng.random((m, 4)) < p, axis=1)
    depth = 1 + advance.sum(axis=1)

    start_dow = start.weekday()
    b2b = c["b2b"]

    def office(t: np.ndarray, who: np.ndarray) -> np.ndarray:
        """Business customers' follow-ups that fall on a weekend mostly move to the Monday."""
        dow = (t.astype(np.int64) + start_dow) % 7
        move = b2b[who] & (dow >= 5) & (rng.random(len(t)) < 0.85)
        return np.where(move, t + (7 - dow), t)

    ev = _Events()
    acq = c["acquisition"]
    acq_event = np.full(len(CHANNELS), _EV["ad_impression"])
    acq_event[[_CH["search"], _CH["pr"], _CH["word of mouth"], _CH["community"]]] = [
        _EV["search_result_click"],
        _EV["pr_mention"],
        _EV["word_of_mouth"],
        _EV["word_of_mouth"],
    ]
    tt = t0.copy()
    research = np.zeros(m, bool)
    idx = np.arange(m)
    attempt_channel = np.zeros(m, np.int8)
    for s, stage in enumerate(schema.STAGES[:5]):
        a = idx[depth > s]
        if s > 0:
            gap = np.exp(rng.normal(np.log(STEP_GAP_HOURS[s - 1]), 1.3, len(a))) / 24.0
            tt[a] = office(tt[a] + np.minimum(gap, 45.0), ci[a])
        events, channels, w = _combo_tables(stage)
        choice = _grouped_choice(rng, group[ci[a]], w)
        e, ch = events[choice], channels[choice]
        if s == 0:
            first_a = is_first[a]
            ch = np.where(first_a, acq[ci[a]], ch)
            e = np.where(first_a, acq_event[acq[ci[a]]], e)
        if s < 4:
            if s >= 2:  # researched online while considering and deciding
                research[a] |= DIGITAL[ch]
            ev.add(ci[a], tt[a], e, ch)
        else:
            attempt_channel[a] = ch
            purchases = a
            ev.add(ci[a], tt[a], e, ch, kind=_PURCHASE, research=research[a], ref=np.arange(len(a)))

    # --- after the purchase: service, loyalty, expansion
    pc = ci[purchases]
    pt = tt[purchases]
    soon = churned[pc] & (stop[pc] - pt < 150)
    seg = c["segment"][pc]
    g = group[pc]
    n_orders = len(purchases)
    order_cust = [pc]
    order_t = [pt]
    order_channel = [attempt_channel[purchases]]
    order_kind = [np.zeros(len(pc), np.int8)]

    sv = rng.random(len(pc)) < np.where(soon, 0.42, 0.16) + 0.06 * c["b2b"][pc]
    st_t = office(pt[sv] + np.exp(rng.normal(np.log(5.0), 0.9, sv.sum())), pc[sv])
    events, channels, w = _combo_tables("service")
    complaint_share = np.where(soon[sv], 0.6, 0.22)
    choice = _grouped_choice(rng, g[sv], w)
    is_complaint = rng.random(sv.sum()) < complaint_share
    svc_event = np.where(is_complaint, _EV["complaint"], _EV["service_contact"])
    svc_channel = channels[choice]
    topic = rng.choice(3, size=sv.sum(), p=[0.45, 0.2, 0.35])
    ev.add(pc[sv], st_t, svc_event, svc_channel, kind=_SERVICE, topic=topic)

    lo = rng.random(len(pc)) < np.where(soon, 0.1, 0.26)
    lo_t = office(pt[lo] + np.exp(rng.normal(np.log(9.0), 0.8, lo.sum())), pc[lo])
    events, channels, w = _combo_tables("loyalty")
    choice = _grouped_choice(rng, g[lo], w)
    lo_event = events[choice]
    mood = np.where(soon[lo], 2.3, 4.2) + rng.normal(0, 0.9, lo.sum())
    rating = np.clip(np.round(mood), 1, 5).astype(np.int8)
    kind = np.where(lo_event == _EV["review_written"], _REVIEW, _NONE)  # reviews carry their rating
    ev.add(pc[lo], lo_t, lo_event, channels[choice], kind=kind, rating=rating)

    # the loyalty loop: each purchase leads to a customer-specific number of cross- and upsells
    loop = EXPANSION_RATE[seg] * np.sqrt(c["engagement"][pc]) * np.where(soon, 0.25, 1.0)
    kx = rng.poisson(loop)
    xi = np.repeat(np.arange(len(pc)), kx)
    gaps = np.exp(rng.normal(np.log(40.0), 0.8, len(xi)))
    run_start = np.r_[True, xi[1:] != xi[:-1]] if len(xi) else np.zeros(0, bool)
    cum = np.cumsum(gaps)
    offset = np.maximum.accumulate(np.where(run_start, cum - gaps, 0.0)) if len(xi) else cum
    ex = xi
    ex_t = office(pt[ex] + cum - offset, pc[ex])
    events, channels, w = _combo_tables("expansion")
    choice = _grouped_choice(rng, g[ex], w)
    ev.add(pc[ex], ex_t, events[choice], channels[choice], kind=_EXPANSION, ref=n_orders + np.arange(len(ex)))
    order_cust.append(pc[ex])
    order_t.append(ex_t)
    order_channel.append(channels[choice].astype(np.int8))
    order_kind.append(np.where(events[choice] == _EV["upsell_purchase"], 1, 2).astype(np.int8))

    # --- churners contact service (and complain) in their last months, then stop
    cc = np.flatnonzero(churned)
    extra = 1 + rng.poisson(1.2, len(cc))
    ec = np.repeat(cc, extra)
    et = office(stop[ec] - rng.random(len(ec)) * np.minimum(110.0, stop[ec] - signup[ec]), ec)
    events, channels, w = _combo_tables("service")
    choice = _grouped_choice(rng, group[ec], w)
    e_complaint = rng.random(len(ec)) < 0.5
    topic = rng.choice(3, size=len(ec), p=[0.3, 0.3, 0.4])
    ev.add(
        ec,
        et,
        np.where(e_complaint, _EV["complaint"], _EV["service_contact"]),
        channels[choice],
        kind=_SERVICE,
        topic=topic,
    )

    orders = {
        "cust": np.concatenate(order_cust),
        "t": np.concatenate(order_t),
        "channel": np.concatenate(order_channel),
        "kind": np.concatenate(order_kind),
    }
    return ev.concat(), orders


def _order_lines(rng: np.random.Generator, c: dict, orders: dict, kept: np.ndarray) -> tuple[dict, dict]:
    """Order lines of the kept orders and their returns: (lines dict, return orders dict)."""
    cust = orders["cust"]
    seg = c["segment"][cust]
    n_lines = 1 + rng.binomial(4, LINES_P[seg])
    n_lines[~kept] = 0
    oi = np.repeat(np.arange(len(cust)), n_lines)
    line_no = _rank_within(oi)
    lseg = seg[oi]
    price = np.array([p[3] for p in PRODUCTS])
    pop = np.array([p[4] for p in PRODUCTS])
    cat = np.array([p[2] for p in PRODUCTS])
    w = CATEGORY_PREFERENCE[:, cat] * pop[None, :] * (price[None, :] / 100.0) ** PRICE_ELASTICITY[:, None]
    # upsells choose from the dear end of the catalogue
    w_up = w * (price[None, :] / 100.0) ** 0.6
    wg = np.vstack([w, w_up])
    lgroup = lseg + 4 * (orders["kind"][oi] == 1)
    product = _grouped_choice(rng, lgroup, wg)
    lam = QUANTITY_MEAN[lseg] * CATEGORY_QUANTITY[cat[product]] * c["spend"][cust[oi]]
    quantity = 1 + rng.poisson(lam)
    currency = COUNTRY_CURRENCY[c["country"][cust[oi]]]
    # November and December promotions
    discount = np.where(rng.random(len(oi)) < 0.3, 0.15, 0.0) * (orders["month"][oi] >= 10)
    # Money is stored in the reporting currency (EUR, see analytics.currency); `currency` records
    # what the customer paid in.
    unit_price = np.round(price[product] * (1 - discount), 2)
    lines = {
        "order": oi,
        "line_no": line_no,
        "product": product,
        "quantity": quantity.astype(float),
        "unit_price": unit_price,
        "currency": currency,
    }
    # returns: some lines come back 3-30 days later as a separate order with negative quantity
    ret_rate = np.array([p[5] for p in PRODUCTS])[product] * (1.0 + 0.6 * (lseg >= 2))
    returned = rng.random(len(oi)) < ret_rate
    ret_orders = np.unique(oi[returned])
    ret_gap = 3 + rng.random(len(ret_orders)) * 27
    ret_t_by_order = np.full(len(cust), np.nan)
    ret_t_by_order[ret_orders] = orders["t"][ret_orders] + ret_gap
    keep_ret = returned & (ret_t_by_order[oi] < c["stop"][cust[oi]])
    rl = np.flatnonzero(keep_ret)
    ret = {
        "line": rl,
        "order": oi[rl],
        "t": ret_t_by_order[oi[rl]],
        "quantity": -(1 + np.floor(rng.random(len(rl)) * quantity[rl])),
    }
    return lines, ret


def _kano(rng: np.random.Generator, c: dict) -> dict:
    """Kano answers: 12 features x 300 respondents x 2 waves (codes and customer indices)."""
    n = c["n"]
    features = list(KANO_FEATURES)
    rows: dict[str, list] = {k: [] for k in ("resp", "feature", "f", "d", "imp", "cust", "seg", "wave")}
    cells = {k: np.array(v, dtype=float) for k, v in KANO_CELLS.items()}
    for wi, _wave in enumerate(KANO_WAVES):
        r = KANO_RESPONDENTS
        cust = rng.choice(n, size=min(r, n), replace=False)
        cust = np.concatenate([cust, np.full(r - len(cust), -1)])
        seg = np.where(cust >= 0, c["segment"][np.maximum(cust, 0)], rng.integers(0, 4, r))
        b2b = seg < 2
        for fi, feature in enumerate(features):
            b2c_shares, b2c_later, b2b_shares, b2b_later = KANO_FEATURES[feature]
            cons = np.array(b2c_later if (wi == 1 and b2c_later) else b2c_shares)
            bus = b2b_later if (wi == 1 and b2b_later) else b2b_shares
            bus = cons if bus is None else np.array(bus)
            shares = np.vstack([np.r_[cons, 0.0], np.r_[bus, 0.0]])
            shares = shares / shares.sum(axis=1, keepdims=True) * (1 - KANO_QUESTIONABLE)
            shares[:, 5] = KANO_QUESTIONABLE
            cat = _grouped_choice(rng, b2b.astype(np.int64), shares)
            f = np.zeros(r, np.int64)
            d = np.zeros(r, np.int64)
            imp = np.zeros(r)
            for k, name in enumerate(KANO_CATEGORIES):
                sel = np.flatnonzero(cat == k)
                cell = cells[name]
                pick = rng.choice(len(cell), size=len(sel), p=cell[:, 2] / cell[:, 2].sum())
                f[sel] = cell[pick, 0]
                d[sel] = cell[pick, 1]
                imp[sel] = KANO_IMPORTANCE[name]
            imp = np.clip(np.round(imp + rng.normal(0, 1.4, r)), 1, 9)
            rows["resp"].append(wi * 100000 + np.arange(1, r + 1))
            rows["feature"].append(np.full(r, fi))
            rows["f"].append(f)
            rows["d"].append(d)
            rows["imp"].append(imp)
            rows["cust"].append(cust)
            rows["seg"].append(seg)
            rows["wave"].append(np.full(r, wi))
    return {k: np.concatenate(v) for k, v in rows.items()}


def build(
    *,
    customers: int = 5000,
    seed: int = 7,
    end: date = date(2026, 10, 31),
    years: int = 2,
    interactions_per_customer: float | None = None,
) -> DemoData:
    """Draw every demo table without touching a database: sizes and seed -> :class:`DemoData`."""
    if customers < 1:
        raise ValueError(f"The demo needs at least one customer (asked for {customers}).")
    if years < 1:
        raise ValueError(f"The demo needs at least one year of history (asked for {years}).")
    per_customer = 20.0 if interactions_per_customer is None else float(interactions_per_customer)
    if per_customer <= 0:
        raise ValueError("interactions_per_customer must be positive.")
    root = np.random.SeedSequence([seed, 20261031])
    rng_c, rng_j, rng_o, rng_k = (np.random.default_rng(s) for s in root.spawn(4))
    start = _start_date(end, years)
    days = (end - start).days + 1
    c = _customers(rng_c, customers, start, days)
    events, orders = _journeys(rng_j, c, days, start, per_customer)

    # activity stops at churn (for good) and at the end of the period
    keep = (events["t"] < c["stop"][events["cust"]]) & (events["t"] < days)
    events = {k: v[keep] for k, v in events.items()}
    order_kept = (orders["t"] < c["stop"][orders["cust"]]) & (orders["t"] < days)
    orders["month"] = (np.datetime64(start) + orders["t"].astype(np.int64)).astype("datetime64[M]").astype(int) % 12
    lines, ret = _order_lines(rng_o, c, orders, order_kept)

    # return orders: one per original order, plus a service contact at the same moment
    ret_orders, first_line = np.unique(ret["order"], return_index=True)
    ret_t = ret["t"][first_line]
    ret_cust = orders["cust"][ret_orders]
    n_sales = len(orders["cust"])
    # order numbers in time order over sales and returns
    all_t = np.concatenate([np.where(order_kept, orders["t"], np.inf), ret_t])
    order_rank = np.empty(len(all_t), np.int64)
    order_rank[np.argsort(all_t, kind="stable")] = np.arange(1, len(all_t) + 1)
    sale_no, ret_no = order_rank[:n_sales], order_rank[n_sales:]

    ret_channel = _grouped_choice(
        rng_o, (~c["b2b"][ret_cust]).astype(np.int64), np.array([[1, 3, 5, 2, 0], [4, 1, 2, 3, 0.01]])
    )
    ret_channel = np.array([_CH["online shop"], _CH["store"], _CH["call centre"], _CH["email"], _CH["chat"]])[
        ret_channel
    ]
    ev_ret = {
        "cust": ret_cust,
        "t": ret_t,
        "event": np.full(len(ret_cust), _EV["service_contact"], np.int8),
        "channel": ret_channel.astype(np.int8),
        "kind": np.full(len(ret_cust), _RETURN, np.int8),
        "research": np.zeros(len(ret_cust), bool),
        "ref": ret_no,
        "rating": np.zeros(len(ret_cust), np.int8),
        "topic": np.full(len(ret_cust), 3, np.int8),
    }
    ref2 = np.concatenate([np.full(len(events["cust"]), -1), sale_no[ret_orders]])
    # purchase and expansion events point at their order's number
    sale_ref = events["ref"]
    is_sale = (events["kind"] == _PURCHASE) | (events["kind"] == _EXPANSION)
    sale_no_or_none = np.r_[sale_no, -1]
    events["ref"] = sale_no_or_none[np.where(is_sale, sale_ref, len(sale_no))]
    events = {k: np.concatenate([events[k], ev_ret[k]]) for k in events}
    events["ref2"] = ref2

    # Interaction ids follow time order; the rows are stored by customer, then time (the store keeps
    # interactions clustered by customer, which per-customer work such as funnels reads fastest).
    t_sec = np.round(events["t"] * 86400.0).astype(np.int64)
    t_sec = np.minimum(t_sec, days * 86400 - 1)
    # unique keys (time, then generation order) sort the same with any algorithm, on any machine
    shift = max(1, len(t_sec).bit_length())
    time_ix = np.argsort((t_sec << shift) + np.arange(len(t_sec)))
    n_int = len(time_ix)
    id_of = np.empty(n_int, dtype=np.int64)
    id_of[time_ix] = np.arange(1, n_int + 1, dtype=np.int64)
    del time_ix
    order_ix = np.lexsort((id_of, events["cust"]))
    base_us = int((datetime.combine(start, datetime.min.time()) - datetime(1970, 1, 1)).total_seconds()) * 1_000_000

    def us(seconds: np.ndarray) -> pa.Array:
        return pa.array(seconds * 1_000_000 + base_us, type=pa.timestamp("us"))

    interactions = pa.table(
        {
            "n": pa.array(id_of[order_ix]),
            "cust": pa.array(events["cust"][order_ix] + 1),
            "occurred_at": us(t_sec[order_ix]),
            "event": _dictionary(events["event"][order_ix], EVENT_NAMES),
            "stage": _dictionary(EVENT_STAGE[events["event"][order_ix]], schema.STAGES),
            "channel": _dictionary(events["channel"][order_ix], CHANNELS),
            "kind": pa.array(events["kind"][order_ix]),
            "research": pa.array(events["research"][order_ix]),
            "ref": pa.array(events["ref"][order_ix]),
            "ref2": pa.array(events["ref2"][order_ix]),
            "rating": pa.array(events["rating"][order_ix]),
            "topic": _dictionary(events["topic"][order_ix], SERVICE_TOPICS),
        }
    )

    del events, t_sec, order_ix, id_of  # free the row arrays before the next tables are built

    # order lines: sales lines, then return lines
    oi = lines["order"]
    sale_sec = np.minimum(np.round(orders["t"] * 86400.0).astype(np.int64), days * 86400 - 1)
    ret_sec_by_order = np.zeros(n_sales, np.int64)
    ret_sec_by_order[ret_orders] = np.minimum(np.round(ret_t * 86400.0).astype(np.int64), days * 86400 - 1)
    ret_no_by_order = np.zeros(n_sales, np.int64)
    ret_no_by_order[ret_orders] = ret_no
    rl = ret["line"]
    o_no = np.concatenate([sale_no[oi], ret_no_by_order[ret["order"]]])
    o_line = np.concatenate([lines["line_no"], _rank_within(ret["order"])])
    o_cust = np.concatenate([orders["cust"][oi], orders["cust"][ret["order"]]])
    o_sec = np.concatenate([sale_sec[oi], ret_sec_by_order[ret["order"]]])
    o_product = np.concatenate([lines["product"], lines["product"][rl]])
    o_qty = np.concatenate([lines["quantity"], ret["quantity"]])
    o_price = np.concatenate([lines["unit_price"], lines["unit_price"][rl]])
    o_cur = np.concatenate([lines["currency"], lines["currency"][rl]])
    ret_ch_by_order = np.zeros(n_sales, np.int64)
    ret_ch_by_order[ret_orders] = ret_channel
    o_channel = np.concatenate([orders["channel"][oi], ret_ch_by_order[ret["order"]]])
    o_sort = np.lexsort((o_line, o_no))
    orders_tbl = pa.table(
        {
            "order_no": pa.array(o_no[o_sort]),
            "line_no": pa.array(o_line[o_sort].astype(np.int32)),
            "cust": pa.array(o_cust[o_sort] + 1),
            "ordered_at": us(o_sec[o_sort]),
            "product": _dictionary(o_product[o_sort], [p[0] for p in PRODUCTS]),
            "description": _dictionary(o_product[o_sort], [p[1] for p in PRODUCTS]),
            "quantity": pa.array(o_qty[o_sort]),
            "unit_price": pa.array(o_price[o_sort]),
            "amount": pa.array(np.round(o_qty[o_sort] * o_price[o_sort], 2)),
            "currency": _dictionary(o_cur[o_sort], CURRENCIES),
            "channel": _dictionary(o_channel[o_sort], CHANNELS),
            "country": _dictionary(c["country"][o_cust[o_sort]], COUNTRIES),
        }
    )

    # customers
    b2b = c["b2b"]
    place_rows, first_rows, last_rows = c["place_rows"], c["first_rows"], c["last_rows"]
    legal = [LEGAL_FORMS[code] for code in COUNTRIES]
    signup_days = pa.array(
        (np.datetime64(start) + c["signup"].astype("timedelta64[D]")).astype("datetime64[D]"), type=pa.date32()
    )
    customers_tbl = pa.table(
        {
            "n": pa.array(np.arange(1, customers + 1, dtype=np.int64)),
            "b2b": pa.array(b2b),
            "first": _dictionary(c["first"], [r[0] for r in first_rows]),
            "first_slug": _dictionary(c["first"], [r[1] for r in first_rows]),
            "last": _dictionary(c["last"], [r[0] for r in last_rows]),
            "last_slug": _dictionary(c["last"], [r[1] for r in last_rows]),
            "company": _dictionary(c["company"], [w[0] for w in COMPANY_WORDS]),
            "company_slug": _dictionary(c["company"], [w[1] for w in COMPANY_WORDS]),
            "industry_word": _dictionary(c["industry"], INDUSTRY_WORDS),
            "legal": _dictionary(c["country"], legal),
            "country": _dictionary(c["country"], COUNTRIES),
            "region": _dictionary(c["place"], [r[0] for r in place_rows]),
            "city": _dictionary(c["place"], [r[1] for r in place_rows]),
            "industry": _dictionary(c["industry"], INDUSTRIES),
            "acquisition_channel": _dictionary(c["acquisition"], CHANNELS),
            "segment": _dictionary(c["segment"], SEGMENTS),
            "signup_date": signup_days,
            "birth_year": pa.array(c["birth_year"]),
            "employees": pa.array(c["employees"]),
        }
    )

    k = _kano(rng_k, c)
    kano_tbl = pa.table(
        {
            "resp": pa.array(k["resp"]),
            "feature": _dictionary(k["feature"], list(KANO_FEATURES)),
            "functional": pa.array(k["f"].astype(str)),
            "dysfunctional": pa.array(k["d"].astype(str)),
            "importance": pa.array(k["imp"]),
            "cust": pa.array(k["cust"] + 1),
            "segment": _dictionary(k["seg"], SEGMENTS),
            "wave": _dictionary(k["wave"], KANO_WAVES),
        }
    )

    req_cols = list(zip(*REQUIREMENTS, strict=True))
    end_ts = datetime.combine(end, datetime.min.time())
    req_rng = np.random.default_rng(np.random.SeedSequence([seed, 25]))
    updated = [
        end_ts - timedelta(days=int(d), hours=int(h))
        for d, h in zip(
            req_rng.integers(1, 300, len(REQUIREMENTS)), req_rng.integers(8, 18, len(REQUIREMENTS)), strict=True
        )
    ]
    requirements_tbl = pa.table(
        {
            "requirement_id": [f"REQ-{i:03d}" for i in range(1, len(REQUIREMENTS) + 1)],
            "title": list(req_cols[0]),
            "description": list(req_cols[1]),
            "source": list(req_cols[2]),
            "type": list(req_cols[3]),
            "background": list(req_cols[4]),
            "goal": list(req_cols[5]),
            "moscow": list(req_cols[6]),
            "kano_feature": list(req_cols[7]),
            "status": list(req_cols[8]),
            "effort": pa.array(req_cols[9], type=pa.float64()),
            "urgency": pa.array(req_cols[10], type=pa.float64()),
            "importance": pa.array(req_cols[11], type=pa.float64()),
            "risk": pa.array(req_cols[12], type=pa.float64()),
            "owner": list(req_cols[13]),
            "updated_at": pa.array(updated, type=pa.timestamp("us")),
        }
    )
    widths = {
        "C": max(7, len(str(customers))),
        "I": max(9, len(str(n_int))),
        "O": max(8, len(str(max(len(all_t), 1)))),
    }
    return DemoData(customers_tbl, interactions, orders_tbl, kano_tbl, requirements_tbl, widths)


def _insert_sql(widths: dict) -> dict[str, str]:
    cw, iw, ow = widths["C"], widths["I"], widths["O"]

    def cid(col: str) -> str:
        return f"'C' || lpad(CAST({col} AS VARCHAR), {cw}, '0')"

    def oid(col: str) -> str:
        return f"'O' || lpad(CAST({col} AS VARCHAR), {ow}, '0')"

    return {
        "customers": f"""
            INSERT INTO customers (customer_id, name, email, customer_type, country, region, city, industry,
                                   acquisition_channel, segment, signup_date, birth_year, employees)
            SELECT {cid("n")},
                   CASE WHEN b2b THEN CAST(company AS VARCHAR) || ' ' || CAST(industry_word AS VARCHAR) || ' '
                                      || CAST(legal AS VARCHAR)
                        ELSE CAST(first AS VARCHAR) || ' ' || CAST(last AS VARCHAR) END,
                   CASE WHEN b2b THEN 'contact.' || CAST(company_slug AS VARCHAR) || n || '@example.org'
                        ELSE CAST(first_slug AS VARCHAR) || '.' || CAST(last_slug AS VARCHAR) || n || '@example.com' END,
                   CASE WHEN b2b THEN 'B2B' ELSE 'B2C' END,
                   CAST(country AS VARCHAR), CAST(region AS VARCHAR), CAST(city AS VARCHAR),
                   CASE WHEN b2b THEN CAST(industry AS VARCHAR) END,
                   CAST(acquisition_channel AS VARCHAR), CAST(segment AS VARCHAR), signup_date,
                   CASE WHEN NOT b2b THEN CAST(birth_year AS INTEGER) END,
                   CASE WHEN b2b THEN CAST(employees AS INTEGER) END
            FROM demo_customers""",
        "interactions": f"""
            INSERT INTO interactions (interaction_id, customer_id, occurred_at, event, stage, channel, properties)
            SELECT 'I' || lpad(CAST(n AS VARCHAR), {iw}, '0'), {cid("cust")}, occurred_at,
                   CAST(event AS VARCHAR), CAST(stage AS VARCHAR), CAST(channel AS VARCHAR),
                   CASE kind
                     WHEN {_PURCHASE} THEN '{{"online_research": ' || CASE WHEN research THEN 'true' ELSE 'false' END
                                      || ', "order_id": "' || {oid("ref")} || '"}}'
                     WHEN {_EXPANSION} THEN '{{"order_id": "' || {oid("ref")} || '"}}'
                     WHEN {_REVIEW} THEN '{{"rating": ' || CAST(rating AS VARCHAR) || '}}'
                     WHEN {_SERVICE} THEN '{{"topic": "' || CAST(topic AS VARCHAR) || '"}}'
                     WHEN {_RETURN} THEN '{{"topic": "returns", "order_id": "' || {oid("ref")}
                                      || '", "returned_order_id": "' || {oid("ref2")} || '"}}'
                   END
            FROM demo_interactions""",
        "orders": f"""
            INSERT INTO orders (order_id, line_no, customer_id, ordered_at, product, description, quantity,
                                unit_price, amount, currency, channel, country)
            SELECT {oid("order_no")}, line_no, {cid("cust")}, ordered_at, CAST(product AS VARCHAR),
                   CAST(description AS VARCHAR), quantity, unit_price, amount, CAST(currency AS VARCHAR),
                   CAST(channel AS VARCHAR), CAST(country AS VARCHAR)
            FROM demo_orders""",
        "kano_responses": f"""
            INSERT INTO kano_responses (respondent_id, feature, functional, dysfunctional, importance, customer_id,
                                        segment, wave)
            SELECT 'R' || CAST(wave AS VARCHAR) || '-' || lpad(CAST(resp % 100000 AS VARCHAR), 4, '0'),
                   CAST(feature AS VARCHAR), functional, dysfunctional, importance,
                   CASE WHEN cust > 0 THEN {cid("cust")} END, CAST(segment AS VARCHAR), CAST(wave AS VARCHAR)
            FROM demo_kano""",
        "requirements": """
            INSERT INTO requirements (requirement_id, title, description, source, type, background, goal, moscow,
                                      kano_feature, status, effort, urgency, importance, risk, owner, updated_at)
            SELECT requirement_id, title, description, source, type, background, goal, moscow, kano_feature, status,
                   effort, urgency, importance, risk, owner, updated_at
            FROM demo_requirements""",
    }


def generate(
    con: duckdb.DuckDBPyConnection,
    *,
    customers: int = 5000,
    seed: int = 7,
    end: date = date(2026, 10, 31),
    years: int = 2,
    interactions_per_customer: float | None = None,
) -> None:
    """Fill the demo tables of a migrated store: sizes and seed -> rows in five tables (returns None).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A migrated store (``store.connect``).
    customers : int, default=5000
        Number of customers (at least 1).
    seed : int, default=7
        Same seed, same tables.
    end : date, default=2026-10-31
        Last day of the history.
    years : int, default=2
        Length of the history.
    interactions_per_customer : float, optional
        Average interactions per customer (default about 20).

    Existing rows of customers, interactions, orders, kano_responses and requirements are replaced in
    the same transaction, and an audit entry records the run.
    """
    data = build(
        customers=customers, seed=seed, end=end, years=years, interactions_per_customer=interactions_per_customer
    )
    sql = _insert_sql(data.widths)
    sources = {
        "customers": ("demo_customers", data.customers),
        "interactions": ("demo_interactions", data.interactions),
        "orders": ("demo_orders", data.orders),
        "kano_responses": ("demo_kano", data.kano),
        "requirements": ("demo_requirements", data.requirements),
    }

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        replaced = cur.execute("SELECT count(*) FROM customers").fetchone()[0]
        for table in DEMO_TABLES:
            cur.execute(f'DELETE FROM "{table}"')
        # Scores of stored churn models refer to the old customers: they no longer apply.
        cur.execute("DELETE FROM churn_scores")
        for table in DEMO_TABLES:
            name, arrow = sources[table]
            cur.register(name, arrow)
            try:
                cur.execute(sql[table])
            finally:
                cur.unregister(name)
        details = {
            "customers": customers,
            "seed": seed,
            "end": end.isoformat(),
            "years": years,
            "rows": {t: sources[t][1].num_rows for t in DEMO_TABLES},
            "replaced_customers": int(replaced),
        }
        store.audit(cur, "demo data generated", "demo", json.dumps(details))

    store.run_write(con, work)
    # Two filled-in example worksheets (idempotent: kept as they are when they exist).
    worksheets.create_demo_examples(con)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m analytics.demo --customers N --seed S --db PATH [--interactions M]``."""
    parser = argparse.ArgumentParser(description="Fill a workbench database with deterministic demo data.")
    parser.add_argument("--customers", type=int, default=5000, help="number of customers (default 5000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--db", default=None, help="database file (default: $WORKBENCH_DB or data/workbench.duckdb)")
    parser.add_argument("--interactions", type=int, default=None, help="total interactions wanted (about)")
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 10, 31), help="last day (YYYY-MM-DD)")
    parser.add_argument("--years", type=int, default=2, help="years of history (default 2)")
    args = parser.parse_args(argv)
    if args.customers < 1:
        parser.error("--customers must be at least 1")
    per_customer = None if args.interactions is None else args.interactions / args.customers
    started = time.perf_counter()
    con = store.connect(args.db)
    try:
        generate(
            con,
            customers=args.customers,
            seed=args.seed,
            end=args.end,
            years=args.years,
            interactions_per_customer=per_customer,
        )
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in DEMO_TABLES}
    finally:
        con.close()
    seconds = time.perf_counter() - started
    print(", ".join(f"{t} {n:,}" for t, n in counts.items()) + f" in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

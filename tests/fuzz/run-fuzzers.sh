#!/usr/bin/env bash
# Placeholder until fuzz targets exist: reports that there is nothing to run.
echo "SKIP: fuzz: no fuzz targets built yet"

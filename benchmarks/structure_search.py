"""A structure search against a known structure: is the experiment-like cell found, and at which rank?

    AIIDA_PATH=/work/search-bench aiida-perovskite setup --profile search-bench     # once
    AIIDA_PATH=/work/search-bench python benchmarks/structure_search.py --profile search-bench \\
        --reference BA2PbI4 --candidates 8 --keep 2 [--formula-units 1 2] [--protocol screening] \\
        [--mlip-protocol fast] [--seed 0] [--octahedral-tilt 0 15 --octahedral-rotation 0 15]
        [--anneal K ATM STEPS] [--preselect mlip|classical] [--herringbone LOW HIGH]
    ... --spacer SMILES --phase RP --metal Pb --halide I --cif REFERENCE.cif
    ... --spacer SMILES --lattice A B C [ALPHA BETA GAMMA] --metals 4 --slabs 2

Runs ``StructureSearchWorkChain`` (the work chain behind ``aiida-perovskite predict``) in the given profile
and prints: the candidates generated, relaxed, distinct and kept; every MLIP-ranked structure with its
energy per formula unit and its per-metal volume, in-plane area and layer spacing against the reference;
the rank of the experiment-like structure and the energy gap to the next distinct one; the wall time of
each stage (from the nodes' ctime/mtime: the parametrisation, the anneals, each classical minimisation, each MLIP
relaxation with its steps and seconds per step).

With a reference CIF it also prints the census of the classical stage: every distinct classical minimum against
the CIF, and the classical ranks of the experiment-like ones (is the classical stage producing them, and where does
its energy put them?). ``--reference-classical`` runs the CIF itself through the search's classical stage (its
residue, parameter set, anneal and minimisation) and says where its classical energy falls among the candidates.
Every structure compared with the CIF also gets its spacers' arrangement and its layer's bridges
(:func:`aiida_perovskite.search.compare.spacer_arrangement` and ``bridge_angles``): e.g. ``3/4 heads gauche, rings 13 deg
apart within a sheet, 52 deg across the gap, bridges M-X-M 138-157 deg``; the reference's own are printed under the
table.

Experiment-like: with a reference CIF, a ranked structure that ``StructureMatcher`` matches to the reference
(hydrogens stripped), or whose powder-XRD similarity is >= 0.9 with the volume per metal within 3 %. With
lattice constants only (``--lattice`` or a ``--reference`` preset), neither test is possible: the script
then reports the structures whose per-metal volume, in-plane area and layer spacing are all within 3 % of
the reference, and says that this is a lattice-only proxy (it cannot see the tilt pattern or the
spacers' arrangement).

Presets (published room-temperature lattices; no CIF is shipped with the project):

- ``BA2PbI4``: CCCCN, RP, Pbca, 8.8632 x 8.6816 x 27.57 A, 4 Pb in 2 layers
  (D. B. Mitzi, Chem. Mater. 8 (1996) 791, doi:10.1021/cm9505097);
- ``PEA2PbI4``: NCCc1ccccc1, RP, P-1, 8.7389 x 8.7403 x 32.9952 A, 84.646, 84.657, 89.643 deg, 298 K,
  4 Pb in 2 layers (K. Du et al., Inorg. Chem. 56 (2017) 9291, doi:10.1021/acs.inorgchem.7b01094);
- ``BA2PbBr4``: CCCCN, RP, Pbca, 8.2229 x 8.1100 x 27.3179 A, 100 K, 4 Pb in 2 layers (CCDC 1945905,
  Sci. Adv. (2020), doi:10.1126/sciadv.aay4045; its CIF, from the CCDC or the hybrid3 database, can be
  given as ``--cif`` for the StructureMatcher and XRD tests).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

PRESETS = {
    'BA2PbI4': {'smiles': 'CCCCN', 'phase': 'RP', 'metal': 'Pb', 'halide': 'I',
                'lattice': [8.8632, 8.6816, 27.57, 90.0, 90.0, 90.0], 'metals': 4, 'slabs': 2,
                'source': 'Mitzi, Chem. Mater. 8 (1996) 791, Pbca, room temperature'},
    'PEA2PbI4': {'smiles': 'NCCc1ccccc1', 'phase': 'RP', 'metal': 'Pb', 'halide': 'I',
                 'lattice': [8.7389, 8.7403, 32.9952, 84.646, 84.657, 89.643], 'metals': 4, 'slabs': 2,
                 'source': 'Du et al., Inorg. Chem. 56 (2017) 9291, P-1, 298 K'},
    'BA2PbBr4': {'smiles': 'CCCCN', 'phase': 'RP', 'metal': 'Pb', 'halide': 'Br',
                 'lattice': [8.2229, 8.1100, 27.3179, 90.0, 90.0, 90.0], 'metals': 4, 'slabs': 2,
                 'source': 'CCDC 1945905, Sci. Adv. (2020), doi:10.1126/sciadv.aay4045, Pbca, 100 K'},
}
#: Fractional tolerance of the per-metal figures (and of the volume next to the XRD test).
TOLERANCE = 0.03
FIGURES = (('volume_per_metal', 'volume per B', 'A^3'), ('in_plane_area_per_metal', 'in-plane area per B', 'A^2'),
           ('layer_spacing', 'layer spacing', 'A'))


def reference_from_lattice(parameters, metals: int, slabs: int) -> dict:
    """Per-metal figures of a cell from its lattice constants (the longest vector crosses the layers)."""
    import numpy as np
    from pymatgen.core import Lattice

    from aiida_perovskite.analysis.validation import cell_figures

    if len(parameters) == 3:
        parameters = [*parameters, 90.0, 90.0, 90.0]
    if len(parameters) != 6:
        sys.exit('--lattice: give A B C or A B C ALPHA BETA GAMMA')
    lattice = Lattice.from_parameters(*parameters).matrix
    stacking = int(np.argmax(np.linalg.norm(lattice, axis=1)))
    return cell_figures(lattice, stacking, metals, slabs)


def classical_census(results: dict, reference_cif) -> list[dict]:
    """Every distinct classical minimum, in classical order, against the reference CIF: is the classical stage
    producing experiment-like structures, and does it rank them where ``keep`` reaches?"""
    from aiida_perovskite.search.compare import compare_structures
    from aiida_perovskite.structure import StructureError

    classical = results['classical_ranking'].get_dict()
    lowest = classical['energies'][classical['order'][0]]
    rows = []
    for position, key in enumerate(classical['order'], start=1):
        row = {'rank': position, 'key': key, 'dE': 1000 * (classical['energies'][key] - lowest)}
        try:
            comparison = compare_structures(results['classical'][key].get_pymatgen_structure(), reference_cif)
        except StructureError as error:  # torn apart: no layer left to compare
            row.update(note=f'{type(error).__name__}: {error}', like=False)
        else:
            volume = comparison['rows'][0]['deviation']
            row.update(volume=volume, xrd=comparison['xrd_similarity'], match=comparison['match'],
                       arrangement=comparison['arrangement']['predicted'], bridges=comparison['bridges']['predicted'],
                       like=comparison['match'] or (comparison['xrd_similarity'] >= 0.9 and abs(volume) <= 100 * TOLERANCE))
        rows.append(row)
    return rows


def reference_through_classical(search, reference_cif) -> dict:
    """The reference CIF through the search's own classical stage: its spacer residue, parameter set, anneal
    (when the search had one) and cell-free minimisation. Returns its classical energy per formula unit, that
    minimum against the CIF and the segments' PKs."""
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_perovskite.calculations.functions.search import candidate_topology, classical_result
    from aiida_perovskite.data import ParameterSetData
    from aiida_perovskite.search.compare import compare_structures
    from aiida_perovskite.structure import decompose
    from aiida_perovskite.workflows.search import anneal_segment, minimise_segment, topology_settings
    from aiida_perovskite.workflows.segment import LammpsSegmentWorkChain

    parametrise = next(child for child in search.called if child.process_label == 'ParametriseWorkChain')
    template = parametrise.outputs.topology
    attributes = template.base.attributes
    decomposition = decompose(reference_cif)
    metal = search.inputs.generator['metal']
    record = {'molecules': [indices for unique in decomposition.unique_molecules for indices in unique.copy_indices()],
              'inorganic': decomposition.inorganic_indices,
              'formula_units': sum(1 for site in reference_cif if site.specie.symbol == metal)}
    settings = orm.Dict(topology_settings(template))
    results, calc = candidate_topology.run_get_node(orm.StructureData(pymatgen=reference_cif), orm.Dict(record),
                                                    parametrise.outputs.prmtop,
                                                    ParameterSetData.get_or_create(attributes.get('parameter_set')), settings)
    if not calc.is_finished_ok:
        raise SystemExit(f'the reference cannot take the search\'s spacer residue: {calc.exit_message}')
    topology = results['topology']
    lammps = {'code': search.inputs.codes.lammps, 'topology': topology}
    minimise = search.inputs.minimise.get_dict()
    parent, pks = None, []
    anneal = search.inputs.anneal.get_dict() if 'anneal' in search.inputs else {}
    if int(anneal.get('steps', 0)) > 0:
        _, node = run_get_node(LammpsSegmentWorkChain, lammps={**lammps, 'parameters': orm.Dict(anneal_segment(anneal, minimise, topology, 1))},
                               max_iterations=search.inputs.max_iterations)
        if not node.is_finished_ok:
            raise SystemExit(f'the reference\'s anneal {node.pk} failed: {node.exit_message}')
        parent = node.outputs.remote_folder
        pks.append(node.pk)
    _, node = run_get_node(LammpsSegmentWorkChain, lammps={**lammps, 'parameters': orm.Dict(minimise_segment(minimise, topology)),
                                                           **({'parent_folder': parent} if parent else {})},
                           max_iterations=search.inputs.max_iterations)
    if not node.is_finished_ok:
        raise SystemExit(f'the reference\'s minimisation {node.pk} failed: {node.exit_message}')
    pks.append(node.pk)
    result = classical_result(node.outputs.final_data, node.outputs.thermo,
                              orm.Dict({'formula_units': record['formula_units'],
                                        'site_order': topology.base.attributes.get('site_order')}))
    comparison = compare_structures(result['structure'].get_pymatgen_structure(), reference_cif)
    return {'energy': result['energy'].value, 'comparison': comparison, 'segments': pks, 'structure': result['structure'].pk}


def reference_through_mlip(search, reference_cif) -> dict:
    """The reference CIF relaxed by the search's own MLIP stage (its potential, protocol and criteria): the MLIP's
    energy per formula unit of the experimental structure and its relaxed cell, to tell the search's error (a
    prediction above it) from the potential's (a relaxed reference that has moved away from the CIF)."""
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_perovskite.workflows.mlip import MlipRelaxWorkChain

    settings = search.inputs.mlip.get_dict()
    builder = MlipRelaxWorkChain.get_builder_from_protocol(search.inputs.codes.mlip, orm.StructureData(pymatgen=reference_cif),
                                                           settings.get('protocol'),
                                                           {'parameters': settings.get('parameters', {})})
    _, node = run_get_node(builder)
    if not node.is_finished_ok:
        raise SystemExit(f'the reference\'s MLIP relaxation {node.pk} failed: {node.exit_message}')
    metal = search.inputs.generator['metal']
    units = sum(1 for site in reference_cif if site.specie.symbol == metal)
    return {'energy': node.outputs.output_parameters['energy_ev'] / units, 'structure': node.outputs.structure,
            'pk': node.pk}


def seconds(node) -> float:
    return (node.mtime - node.ctime).total_seconds()


def stage_times(search) -> dict:
    """Wall time of each stage of a finished search, from its descendants' ctime and mtime."""
    out = {'parametrise': None, 'anneal': [], 'classical': [], 'mlip': []}
    for child in search.called:
        if child.process_label == 'ParametriseWorkChain':
            out['parametrise'] = seconds(child)
        elif child.process_label == 'LammpsSegmentWorkChain':
            stage, key = child.label.split()
            out['anneal' if stage == 'anneal' else 'classical'].append((key, seconds(child), child.ctime, child.mtime))
        elif child.process_label == 'MlipRelaxWorkChain':
            key = child.label.split()[-1]
            runs = [c for c in child.called if c.process_label == 'MlipCalculation']
            steps = sum(s['steps_this_run'] for run in runs if 'output_parameters' in run.outputs
                        for s in run.outputs.output_parameters['stages'])
            engine = sum(run.outputs.output_parameters['seconds'] for run in runs if 'output_parameters' in run.outputs)
            out['mlip'].append((key, seconds(child), len(runs), steps, engine, child.ctime, child.mtime))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--profile', required=True, help='AiiDA profile with the codes (aiida-perovskite setup).')
    parser.add_argument('--reference', choices=sorted(PRESETS), help='A published structure (sets the spacer too).')
    parser.add_argument('--spacer', help='Spacer SMILES (overrides the preset\'s).')
    parser.add_argument('--phase', choices=['RP', 'DJ'])
    parser.add_argument('--metal', choices=['Pb', 'Sn'])
    parser.add_argument('--halide', choices=['I', 'Br', 'Cl'])
    parser.add_argument('--cif', type=pathlib.Path, help='Reference CIF: StructureMatcher and XRD tests too.')
    parser.add_argument('--disorder', choices=['refuse', 'major'], default='refuse',
                        help='How the --cif reference\'s partly occupied sites are read (as the CLI\'s --disorder).')
    parser.add_argument('--hydrogens', choices=['require', 'add'], default='require',
                        help='Complete the --cif reference\'s missing hydrogens (as the CLI\'s --hydrogens).')
    parser.add_argument('--lattice', type=float, nargs='+', metavar='X', help='A B C [ALPHA BETA GAMMA] of the reference.')
    parser.add_argument('--metals', type=int, help='Metal atoms in the --lattice cell.')
    parser.add_argument('--slabs', type=int, help='Inorganic slabs in the --lattice cell.')
    parser.add_argument('--candidates', type=int, default=8)
    parser.add_argument('--keep', type=int, default=2)
    parser.add_argument('--formula-units', type=int, nargs='+', default=None, help='Formula units per candidate cell.')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--octahedral-tilt', type=float, nargs=2, metavar=('LOW', 'HIGH'),
                        help='Generator: checkerboard tilt range of the octahedra (degrees; default flat).')
    parser.add_argument('--octahedral-rotation', type=float, nargs=2, metavar=('LOW', 'HIGH'),
                        help='Generator: checkerboard rotation range of the octahedra (degrees; default flat).')
    parser.add_argument('--herringbone', type=float, nargs=2, metavar=('LOW', 'HIGH'),
                        help='Generator: range of the extra spin of every second pocket\'s spacer about its long axis '
                             '(degrees; default: the protocol\'s; 0 0 keeps every ring of a side parallel).')
    parser.add_argument('--protocol', default='screening', help='Search protocol (force field, minimiser).')
    parser.add_argument('--mlip-protocol', default=None, help='MlipRelaxWorkChain protocol (default: the search\'s).')
    parser.add_argument('--mlip', default=None, help='Potential of the MLIP stage (default: the protocol\'s).')
    parser.add_argument('--anneal', type=float, nargs=3, metavar=('K', 'ATM', 'STEPS'),
                        help='Classical stage: anneal every candidate (NPT, 1 fs steps) before minimising it '
                             '(default: the protocol\'s); --anneal 300 1 0 minimises the generated cells directly.')
    parser.add_argument('--preselect', choices=['mlip', 'classical'],
                        help='What picks the --keep candidates among the classical minima (default: the protocol\'s).')
    parser.add_argument('--reference-classical', action='store_true',
                        help='With --cif: also run the reference through the search\'s classical stage (its residue, '
                             'anneal and minimisation) and say where its classical energy falls.')
    parser.add_argument('--reference-mlip', action='store_true',
                        help='With --cif: also relax the reference with the search\'s MLIP stage, and compare every ranked '
                             'structure with that relaxed reference (energy, match, XRD, volume).')
    parser.add_argument('--search', metavar='PK', help='Report on this finished search instead of running one.')
    args = parser.parse_args(argv)

    preset = PRESETS.get(args.reference, {})
    smiles = args.spacer or preset.get('smiles')
    if not smiles:
        parser.error('give --spacer or --reference')
    phase, metal, halide = (args.phase or preset.get('phase', 'RP'), args.metal or preset.get('metal', 'Pb'),
                            args.halide or preset.get('halide', 'I'))
    reference_cif = None
    if args.cif is not None:
        from aiida_perovskite.structure import StructureError, read_cif
        from aiida_perovskite.structure.decompose import reading_notes

        if not args.cif.is_file():
            parser.error(f'{args.cif}: no such file')
        try:
            reference_cif = read_cif(args.cif, disorder=args.disorder, hydrogens=args.hydrogens)
        except StructureError as error:
            parser.error(str(error))
        for note in reading_notes(reference_cif.properties):
            print(f'{args.cif}: {note}')
        from aiida_perovskite.search.compare import layer_figures

        reference = layer_figures(reference_cif)
        source = str(args.cif)
    elif args.lattice:
        if not (args.metals and args.slabs):
            parser.error('--lattice needs --metals and --slabs')
        reference = reference_from_lattice(args.lattice, args.metals, args.slabs)
        source = f'lattice {args.lattice}'
    elif preset:
        reference = reference_from_lattice(preset['lattice'], preset['metals'], preset['slabs'])
        source = preset['source']
    else:
        parser.error('give --reference, --cif or --lattice')

    from aiida import load_profile

    load_profile(args.profile)
    from aiida.engine import run_get_node

    from aiida_perovskite.search.compare import arrangement_line, layer_figures
    from aiida_perovskite.tools.codes import load_codes
    from aiida_perovskite.workflows.search import StructureSearchWorkChain

    codes = None if args.search else load_codes(None, ('antechamber', 'parmchk2', 'tleap', 'lammps', 'mlip'))
    overrides = {'generator': {'candidates': args.candidates, 'seed': args.seed}, 'keep': args.keep, 'mlip': {}}
    if args.mlip:
        overrides['mlip']['parameters'] = {'potential': args.mlip}
    if args.formula_units:
        overrides['generator']['formula_units'] = args.formula_units
    for key in ('octahedral_tilt', 'octahedral_rotation', 'herringbone'):
        if getattr(args, key) is not None:
            overrides['generator'][key] = getattr(args, key)
    if args.mlip_protocol:
        overrides['mlip']['protocol'] = args.mlip_protocol
    if args.anneal:
        overrides['anneal'] = {'temperature': args.anneal[0], 'pressure': args.anneal[1], 'steps': int(args.anneal[2])}
    if args.preselect:
        overrides['preselect'] = args.preselect
    if (args.reference_classical or args.reference_mlip) and reference_cif is None:
        parser.error('--reference-classical and --reference-mlip need --cif')
    if args.search:
        from aiida import orm

        node = orm.load_node(args.search)
        results = {link.link_label: link.node for link in node.base.links.get_outgoing().all()}
        for namespace in ('candidates', 'classical', 'mlip', 'ranked'):
            results[namespace] = {label.split('__', 1)[1]: value for label, value in results.items()
                                  if isinstance(label, str) and label.startswith(namespace + '__')}
        wall = seconds(node)
        print(f'reference: {source}')
    else:
        builder = StructureSearchWorkChain.get_builder_from_protocol(codes, smiles, phase, metal, halide,
                                                                     args.protocol, overrides)
        print(f'search: {smiles} {phase} {metal}{halide}4, {args.candidates} candidates (formula units '
              f'{builder.generator.get_dict().get("formula_units", "default")}), keep {args.keep}, protocol '
              f'{args.protocol}, MLIP {builder.mlip["parameters"]["potential"]} (protocol {builder.mlip["protocol"]}), seed {args.seed}, octahedra '
              f'tilt {builder.generator.get_dict().get("octahedral_tilt", "flat")} rotation '
              f'{builder.generator.get_dict().get("octahedral_rotation", "flat")}, herringbone '
              f'{builder.generator.get_dict().get("herringbone", "none")}, anneal '
              f'{builder.anneal.get_dict() if "anneal" in builder else "none"}, keep chosen by '
              f'{builder.preselect.value if "preselect" in builder else "classical"} energy', flush=True)
        print(f'reference: {source}')
        start = time.monotonic()
        results, node = run_get_node(builder)
        wall = time.monotonic() - start
        if not node.is_finished_ok:
            print(f'search {node.process_label}<{node.pk}> failed [{node.exit_status}] {node.exit_message}')
            return 1

    energies = results['energies'].get_dict()
    classical = results['classical_ranking'].get_dict()
    ranking = results['ranking'].get_dict()
    records = results['records'].get_dict()
    print(f'\nsearch<{node.pk}>: {len(results["candidates"])} generated, {len(energies["classical"])} minimised, '
          f'{classical["distinct"]} distinct classically, kept {len(energies["mlip"])} '
          f'({", ".join(sorted(energies["mlip"]))}), {ranking["distinct"]} distinct after the MLIP')
    print('classical order (eV/f.u. relative to the lowest): ' + ', '.join(
        f'{key} ({records[key]["formula_units"]} f.u.) +{(classical["energies"][key] - classical["energies"][classical["order"][0]]) * 1000:.0f} meV'
        for key in classical['order']))

    if reference_cif is not None:
        census = classical_census(results, reference_cif)
        print(f'\nclassical minima against the reference ({len(census)} distinct; experiment-like: a match, or XRD '
              f'similarity >= 0.9 with the volume per metal within {100 * TOLERANCE:.0f} %):')
        for row in census:
            print(f'  {row["rank"]:3d} {row["key"]} +{row["dE"]:5.0f} meV/f.u.  '
                  + (row['note'] if 'note' in row else f'V {row["volume"]:+6.1f} %  XRD {row["xrd"]:.3f}  match {row["match"]}  '
                                                       f'{arrangement_line(row["arrangement"], row["bridges"])}')
                  + ('  experiment-like' if row['like'] else ''))
        ranks = [row['rank'] for row in census if row['like']]
        print(f'experiment-like classical minima: {len(ranks)} of {len(census)}, at classical ranks {ranks or "none"} '
              f'(keep {len(energies["mlip"])})')
        if args.reference_classical:
            through = reference_through_classical(node, reference_cif)
            lowest = classical['energies'][classical['order'][0]]
            below = sum(1 for key in classical['order'] if classical['energies'][key] < through['energy'])
            comparison = through['comparison']
            print(f'the reference through the same classical stage (segments {through["segments"]}): '
                  f'{1000 * (through["energy"] - lowest):+.0f} meV/f.u. from the lowest candidate, {below} distinct '
                  f'candidates below it; its minimum against the CIF: V {comparison["rows"][0]["deviation"]:+.1f} %, '
                  f'XRD {comparison["xrd_similarity"]:.3f}, match {comparison["match"]}')

    print(f'\n{"rank":>4} {"cand":>5} {"f.u.":>4} {"E (eV/f.u.)":>12} {"dE (meV)":>9}'
          + ''.join(f' {label + " " + unit:>22}' for _, label, unit in FIGURES) + '  experiment-like')
    ref_row = ''.join(f' {reference[key]:22.2f}' for key, _, _ in FIGURES)
    print(f'{"ref":>4} {"":>5} {"":>4} {"":>12} {"":>9}{ref_row}')
    lowest = ranking['energies'][ranking['order'][0]]
    like, note_reference = [], None
    for position, key in enumerate(ranking['order'], start=1):
        structure = results['ranked'][f'r{position:02d}'].get_pymatgen_structure()
        figures = layer_figures(structure)
        deviations = {k: (figures[k] - reference[k]) / reference[k] for k, _, _ in FIGURES}
        if reference_cif is not None:
            from aiida_perovskite.search.compare import compare_structures

            comparison = compare_structures(structure, reference_cif)
            verdict = comparison['match'] or (comparison['xrd_similarity'] >= 0.9
                                              and abs(deviations['volume_per_metal']) <= TOLERANCE)
            note = (f'{"yes" if verdict else "no"} (match {comparison["match"]}, XRD {comparison["xrd_similarity"]:.3f}; '
                    f'{arrangement_line(comparison["arrangement"]["predicted"], comparison["bridges"]["predicted"])})')
            if position == 1:
                note_reference = arrangement_line(comparison['arrangement']['reference'], comparison['bridges']['reference'])
        else:
            verdict = all(abs(value) <= TOLERANCE for value in deviations.values())
            note = f'{"yes" if verdict else "no"} (lattice-only proxy)'
        if verdict:
            like.append(position)
        cells = ''.join(f' {figures[k]:13.2f} ({100 * deviations[k]:+5.1f}%)' for k, _, _ in FIGURES)
        turned = records[key].get('octahedra')
        turned = '' if turned is None else f'; drawn tilt {turned["tilt"]}, rotation {turned["rotation"]} deg'
        print(f'{position:4d} {key:>5} {records[key]["formula_units"]:4d} {ranking["energies"][key]:12.4f} '
              f'{(ranking["energies"][key] - lowest) * 1000:9.1f}{cells}  {note}{turned}')

    if note_reference:
        print(f'the reference: {note_reference}')
    gap = ranking.get('gap_to_next')
    print(f'\nenergy gap of the prediction to the next distinct structure: '
          f'{"n/a (one distinct structure)" if gap is None else f"{gap * 1000:.1f} meV/f.u."}')
    if like:
        first = like[0]
        key = ranking['order'][first - 1]
        behind = (ranking['energies'][key] - lowest) * 1000
        test = 'StructureMatcher / XRD' if reference_cif is not None else 'per-metal figures within 3 % (proxy)'
        print(f'experiment-like structure ({test}): rank {first} of {ranking["distinct"]}'
              + (f', {behind:.1f} meV/f.u. above the prediction' if first > 1 else ''))
    else:
        print('experiment-like structure: none among the ranked ones'
              + ('' if reference_cif is not None else ' (lattice-only proxy: all three per-metal figures within 3 %)'))

    if args.reference_mlip:
        from aiida_perovskite.search.compare import compare_structures

        relaxed = reference_through_mlip(node, reference_cif)
        structure = relaxed['structure'].get_pymatgen_structure()
        itself = compare_structures(structure, reference_cif)
        print(f'\nthe reference relaxed by the same MLIP stage (MlipRelaxWorkChain<{relaxed["pk"]}>): '
              f'{relaxed["energy"]:.4f} eV/f.u., {(relaxed["energy"] - lowest) * 1000:+.1f} meV/f.u. from the prediction; '
              f'against the CIF: ' + ' / '.join(f'{row["deviation"]:+.1f}' for row in itself['rows'])
              + f' % (volume / area / spacing), XRD {itself["xrd_similarity"]:.3f}, match {itself["match"]}; '
              + arrangement_line(itself['arrangement']['predicted'], itself['bridges']['predicted']))
        for position, key in enumerate(ranking['order'], start=1):
            comparison = compare_structures(results['ranked'][f'r{position:02d}'].get_pymatgen_structure(), structure)
            print(f'  r{position:02d} {key}: {(ranking["energies"][key] - relaxed["energy"]) * 1000:+.1f} meV/f.u. from the '
                  f'relaxed reference; ' + ' / '.join(f'{row["deviation"]:+.1f}' for row in comparison['rows'])
                  + f' %, XRD {comparison["xrd_similarity"]:.3f}, match {comparison["match"]}')

    times = stage_times(node)
    print(f'\nwall time: {wall:.0f} s in all; parametrisation {times["parametrise"]:.0f} s')
    if times['anneal']:
        span = (max(t[3] for t in times['anneal']) - min(t[2] for t in times['anneal'])).total_seconds()
        print(f'anneals (all at once): {span:.0f} s for {len(times["anneal"])}; each {min(t[1] for t in times["anneal"]):.0f}'
              f'-{max(t[1] for t in times["anneal"]):.0f} s')
    if times['classical']:
        span = (max(t[3] for t in times['classical']) - min(t[2] for t in times['classical'])).total_seconds()
        print(f'classical minimisations (all at once): {span:.0f} s for {len(times["classical"])}; each: ' + ', '.join(
            f'{key} ({records[key]["formula_units"]} f.u., {len(results["candidates"][key].sites)} atoms) {t:.0f} s'
            for key, t, *_ in sorted(times['classical'])))
    for key, t, runs, steps, engine, *_ in sorted(times['mlip']):
        print(f'MLIP {key} ({records[key]["formula_units"]} f.u.): {t:.0f} s, {runs} run(s), {steps} steps, '
              f'{engine:.0f} s in the optimiser ({engine / max(steps, 1):.2f} s/step)')
    return 0


if __name__ == '__main__':
    sys.exit(main())

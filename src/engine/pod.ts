/**
 * The pod's containers as every layer walks them (rules, the patch, scan's risks): the three lists
 * of the PodSpec, each container with the list it is in.
 */
import type { Container, ContainerList, ContainerTarget, Pod } from './types';

export const CONTAINER_LISTS: readonly ContainerList[] = [
  'containers',
  'initContainers',
  'ephemeralContainers',
];

/** Every container of the pod with the list it is in. */
export function eachContainer(pod: Pod): { list: ContainerList; container: Container }[] {
  const out: { list: ContainerList; container: Container }[] = [];
  for (const list of CONTAINER_LISTS) {
    for (const container of pod.spec?.[list] ?? []) out.push({ list, container });
  }
  return out;
}

export function containerTarget(list: ContainerList, container: Container): ContainerTarget {
  return { kind: 'container', list, name: container.name as string };
}

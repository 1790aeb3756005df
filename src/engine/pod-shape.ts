import type { Container, Pod } from './types';
import { isJsonObject as isObject } from './json';

/**
 * Thrown when an object cannot be a Pod the API server would send: the engine only checks the
 * fields it reads or writes (not the whole pod: that is the API server's job, and too slow to
 * repeat on every review), so that every patch it produces applies.
 */
export class InvalidPodError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = 'InvalidPodError';
  }
}

function optionalObject(value: unknown, path: string): void {
  if (value !== undefined && value !== null && !isObject(value)) {
    throw new InvalidPodError(path, 'must be an object');
  }
}

function optionalStringArray(value: unknown, path: string): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) throw new InvalidPodError(path, 'must be a list of strings');
  value.forEach((entry, i) => {
    if (typeof entry !== 'string') throw new InvalidPodError(`${path}[${i}]`, 'must be a string');
  });
}

function checkSecurityContext(sc: unknown, path: string): void {
  optionalObject(sc, path);
  if (!isObject(sc)) return;
  optionalObject(sc.capabilities, `${path}.capabilities`);
  optionalObject(sc.seccompProfile, `${path}.seccompProfile`);
  if (isObject(sc.capabilities)) {
    optionalStringArray(sc.capabilities.add, `${path}.capabilities.add`);
    optionalStringArray(sc.capabilities.drop, `${path}.capabilities.drop`);
  }
}

/** The sysctls are searched by name and appended to. */
function checkSysctls(value: unknown, path: string): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) throw new InvalidPodError(path, 'must be a list of sysctls');
  value.forEach((entry, i) => {
    if (!isObject(entry)) throw new InvalidPodError(`${path}[${i}]`, 'must be an object');
    if (typeof entry.name !== 'string')
      throw new InvalidPodError(`${path}[${i}].name`, 'must be a string');
  });
}

function checkContainers(list: unknown, path: string, required: boolean): void {
  if (list === undefined || list === null) {
    if (required) throw new InvalidPodError(path, 'is required');
    return;
  }
  if (!Array.isArray(list)) throw new InvalidPodError(path, 'must be a list of containers');
  list.forEach((c: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(c)) throw new InvalidPodError(at, 'must be an object');
    if (typeof c.name !== 'string') throw new InvalidPodError(`${at}.name`, 'must be a string');
    if (c.image !== undefined && c.image !== null && typeof c.image !== 'string') {
      throw new InvalidPodError(`${at}.image`, 'must be a string');
    }
    checkSecurityContext((c as Container).securityContext, `${at}.securityContext`);
  });
}

/** Throws InvalidPodError naming the first field the engine cannot work with. */
export function assertPodShape(pod: unknown): asserts pod is Pod {
  if (!isObject(pod)) throw new InvalidPodError('object', 'must be a Pod object');
  optionalObject(pod.metadata, 'metadata');
  if (isObject(pod.metadata)) optionalObject(pod.metadata.annotations, 'metadata.annotations');
  if (!isObject(pod.spec)) throw new InvalidPodError('spec', 'must be an object');
  const spec = pod.spec;
  checkSecurityContext(spec.securityContext, 'spec.securityContext');
  if (isObject(spec.securityContext))
    checkSysctls(spec.securityContext.sysctls, 'spec.securityContext.sysctls');
  optionalObject(spec.os, 'spec.os');
  checkContainers(spec.containers, 'spec.containers', true);
  checkContainers(spec.initContainers, 'spec.initContainers', false);
  checkContainers(spec.ephemeralContainers, 'spec.ephemeralContainers', false);
}

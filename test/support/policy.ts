import { DEFAULT_POLICY } from '../../src/config/schema';
import { compilePolicy, type Policy, type PolicySettings } from '../../src/engine/policy';

export function policyWith(overrides: Partial<PolicySettings> = {}): Policy {
  return compilePolicy({ ...DEFAULT_POLICY, ...overrides });
}

/**
 * The review function and the wrappers that the transport composes around it:
 *
 *   withLogging(withMetrics(reviewAdmission))
 *
 * Every review the admission port answers, a body that is not an AdmissionReview and an
 * exception inside the review included, comes out of this one function, so logging and metrics
 * see all of them without the review calling either (kubewebhook's NewMeasuredWebhook,
 * Kyverno's handler decorators). What never became a review (an unreadable body, overload, a
 * wrong path) is the transport's to count: app.ts.
 */
import type { Mode, ReviewOutcome } from '../admission/review';
import type { Policy } from '../engine/policy';
import type { ImageUser } from '../engine/types';

/**
 * A parsed JSON body in, the answer out; never throws (reviewAdmission is the error boundary).
 * `imageUsers`: what the images of the pod run as, looked up before the review when image
 * identity is on (server/image-identity.ts); the review itself stays synchronous.
 */
export type ReviewFn = (
  body: unknown,
  mode: Mode,
  policy: Policy,
  imageUsers?: ReadonlyMap<string, ImageUser>,
) => ReviewOutcome;

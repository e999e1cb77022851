/**
 * `@hearth/sdk`: what package code imports. Defining a package (`definePackage`,
 * `defineAction`), the `Effects` the host offers at run time, the manifest schema and
 * versions. The tools that build and check `.hpk` files are in `@hearth/sdk/tools`, so
 * they never end up in a package's code bundle.
 */
export type {
  CertificateInfo,
  DependencyInfo,
  Effects,
  HealthReport,
  InterfaceAddress,
  InterfaceInfo,
  NotificationInput,
  SelfInfo,
} from './effects.ts';
export { KeyInvalid, ManifestInvalid, SdkError, type SdkErrorOptions } from './errors.ts';
export {
  ARCHITECTURES,
  type Architecture,
  type DeclaredManifest,
  MANIFEST_VERSION,
  type Manifest,
  manifestJsonSchema,
  manifestSchema,
  PACKAGE_STATUSES,
  type PackageStatus,
  parseManifest,
  safeParseManifest,
} from './manifest.ts';
export {
  type ActionDefinition,
  ActionFailed,
  type ActionResult,
  type BackupCommand,
  type BackupDefinition,
  defineAction,
  definePackage,
  type HealthCheckInput,
  type Hook,
  type MigrationDefinition,
  type MigrationStep,
  manifestOf,
  type PackageDefinition,
  type PackageInput,
  planMigrations,
  secret,
} from './package.ts';
export { compareVersions, isRange, isVersion, parseRange, parseVersion, satisfies } from './semver.ts';
export { SDK_VERSION } from './version.ts';

import { HearthError } from '../errors.ts';

export class DependencyUnmet extends HearthError {
  constructor(id: string, problems: string) {
    super('dependency_unmet', `${id} needs other packages first: ${problems}`, {
      hint: 'install or start those packages, then try again',
    });
  }
}

export class HearthTooOld extends HearthError {
  constructor(id: string, needs: string, have: string) {
    super('hearth_too_old', `${id} needs Hearth ${needs} or newer, and this box runs ${have}`, {
      hint: 'update Hearth first, or install an older version of the package',
      data: { needs, have },
    });
  }
}

export class UpdateFailed extends HearthError {
  constructor(id: string, from: string, to: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      'update_failed',
      `updating ${id} to ${to} failed, so it is back at ${from} with its data as before: ${why}`,
      {
        hint: 'package.logs shows what the new version printed',
        cause,
        data: { from, to },
      },
    );
  }
}

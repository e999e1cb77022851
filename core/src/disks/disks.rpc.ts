import { z } from 'zod';
import { defineMethod, noParams } from '../rpc/registry.ts';

const filesystem = {
  fsType: z.string().nullable().meta({ description: 'ext4, vfat, ntfs, swap, … (null: none found)' }),
  label: z.string().nullable(),
  uuid: z.string().nullable(),
};

const partition = z.object({
  path: z.string(),
  name: z.string(),
  sizeBytes: z.number(),
  partLabel: z.string().nullable().meta({ description: 'the GPT partition name' }),
  ...filesystem,
  mountpoints: z.array(z.string()),
});

export const driveSchema = z.object({
  path: z.string().meta({ description: 'what setup.execute takes as dataDrive' }),
  name: z.string(),
  type: z.enum(['disk', 'loop']),
  model: z.string().nullable(),
  vendor: z.string().nullable(),
  serial: z.string().nullable(),
  sizeBytes: z.number(),
  transport: z.string().nullable().meta({ description: 'usb, nvme, sata, mmc, … (null: unknown)' }),
  removable: z.boolean(),
  readOnly: z.boolean(),
  partitionTable: z.string().nullable().meta({ description: 'gpt or dos when partitioned' }),
  filesystem: z.object(filesystem).nullable().meta({ description: 'a filesystem on the whole drive' }),
  partitions: z.array(partition),
  mountpoints: z.array(z.string()).meta({ description: 'where it or its partitions are mounted: in use' }),
  unreadable: z.boolean(),
  system: z.boolean().meta({ description: 'the running system is on it' }),
  dataPartition: z
    .string()
    .nullable()
    .meta({ description: "the partition holding the box's data now (the image's data partition)" }),
  hearthData: z
    .string()
    .nullable()
    .meta({ description: 'a hearth-data filesystem holding a Hearth database: can be attached' }),
  hasData: z.boolean().meta({ description: 'partitions or filesystems are on it: formatting needs erase' }),
});

export const diskMethods = [
  defineMethod({
    name: 'disk.list',
    description:
      'The drives the setup wizard can choose as the data drive: model, size, transport, partitions and ' +
      'filesystems, and whether each holds the running system, the box’s data now (the image’s data ' +
      'partition), Hearth data from before (which setup.execute can attach) or anything else. Only while ' +
      'the box is in setup mode.',
    access: 'setup',
    annotations: { readOnly: true, idempotent: true },
    params: noParams,
    result: z.object({ drives: z.array(driveSchema) }),
    handler: async (_, ctx) => ({ drives: await ctx.services.disks.list() }),
  }),
];

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { S3Error } from "../errors.js";
import { parseXml } from "../xml/codec.js";
import { archiveDaysFor, parseTieringConfiguration, tieringConfigurationToXml } from "./config.js";

const parse = (xml: string) => parseTieringConfiguration(parseXml(Buffer.from(xml), "IntelligentTieringConfiguration"));
const doc = (inner: string) => `<IntelligentTieringConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</IntelligentTieringConfiguration>`;
const tiering = (tier: string, days: number | string) => `<Tiering><Days>${days}</Days><AccessTier>${tier}</AccessTier></Tiering>`;

function codeOf(xml: string): string {
  try {
    parse(xml);
  } catch (err) {
    assert.ok(err instanceof S3Error);
    return err.code;
  }
  return "accepted";
}

describe("Intelligent-Tiering configuration", () => {
  it("parses the documented example and writes it back in the same shape", () => {
    const c = parse(
      doc(
        `<Id>ImportantBlueDocuments</Id><Filter><And><Prefix>images</Prefix><Tag><Key>priority</Key><Value>high</Value></Tag>` +
          `<Tag><Key>colour</Key><Value>blue</Value></Tag></And></Filter><Status>Enabled</Status>` +
          tiering("ARCHIVE_ACCESS", 90) +
          tiering("DEEP_ARCHIVE_ACCESS", 180),
      ),
    );
    assert.deepEqual(tieringConfigurationToXml(c), {
      Id: "ImportantBlueDocuments",
      Filter: { And: { Prefix: "images", Tag: [{ Key: "priority", Value: "high" }, { Key: "colour", Value: "blue" }] } },
      Status: "Enabled",
      Tiering: [
        { Days: 90, AccessTier: "ARCHIVE_ACCESS" },
        { Days: 180, AccessTier: "DEEP_ARCHIVE_ACCESS" },
      ],
    });
    assert.equal(tieringConfigurationToXml(parse(doc(`<Id>a</Id><Status>Disabled</Status>${tiering("ARCHIVE_ACCESS", 730)}`))).Filter, undefined);
  });

  it("refuses bad documents with S3's codes", () => {
    assert.equal(codeOf(doc(`<Status>Enabled</Status>${tiering("ARCHIVE_ACCESS", 90)}`)), "MalformedXML");
    assert.equal(codeOf(doc(`<Id>a</Id><Status>On</Status>${tiering("ARCHIVE_ACCESS", 90)}`)), "MalformedXML");
    assert.equal(codeOf(doc(`<Id>a</Id><Status>Enabled</Status>`)), "MalformedXML");
    assert.equal(codeOf(doc(`<Id>a</Id><Status>Enabled</Status>${tiering("INFREQUENT", 90)}`)), "MalformedXML");
    assert.equal(codeOf(doc(`<Id>a</Id><Status>Enabled</Status>${tiering("ARCHIVE_ACCESS", "ninety")}`)), "MalformedXML");
    assert.equal(codeOf(doc(`<Id>a</Id><Status>Enabled</Status>${tiering("ARCHIVE_ACCESS", 89)}`)), "InvalidArgument");
    assert.equal(codeOf(doc(`<Id>a</Id><Status>Enabled</Status>${tiering("DEEP_ARCHIVE_ACCESS", 179)}`)), "InvalidArgument");
    assert.equal(codeOf(doc(`<Id>a</Id><Status>Enabled</Status>${tiering("ARCHIVE_ACCESS", 731)}`)), "InvalidArgument");
    assert.equal(codeOf(doc(`<Id>a</Id><Status>Enabled</Status>${tiering("ARCHIVE_ACCESS", 90)}${tiering("ARCHIVE_ACCESS", 100)}`)), "InvalidArgument");
    assert.equal(codeOf(doc(`<Id>a</Id><Filter><Prefix>p</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status>${tiering("ARCHIVE_ACCESS", 90)}`)), "MalformedXML");
  });

  it("applies enabled configurations whose filter matches, the fewest days per tier winning", () => {
    const configs = [
      parse(doc(`<Id>all</Id><Status>Enabled</Status>${tiering("ARCHIVE_ACCESS", 200)}`)),
      parse(doc(`<Id>logs</Id><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status>${tiering("ARCHIVE_ACCESS", 100)}${tiering("DEEP_ARCHIVE_ACCESS", 300)}`)),
      parse(doc(`<Id>tagged</Id><Filter><Tag><Key>cold</Key><Value>yes</Value></Tag></Filter><Status>Enabled</Status>${tiering("DEEP_ARCHIVE_ACCESS", 180)}`)),
      parse(doc(`<Id>off</Id><Status>Disabled</Status>${tiering("ARCHIVE_ACCESS", 90)}`)),
    ];
    const facts = (key: string, tags: [string, string][] = []) => ({ key, size: 0, storageClass: "INTELLIGENT_TIERING", lastModified: 0, extra: { tags } });
    assert.deepEqual(archiveDaysFor(configs, facts("a")), { ARCHIVE_ACCESS: 200 });
    assert.deepEqual(archiveDaysFor(configs, facts("logs/x")), { ARCHIVE_ACCESS: 100, DEEP_ARCHIVE_ACCESS: 300 });
    assert.deepEqual(archiveDaysFor(configs, facts("logs/x", [["cold", "yes"]])), { ARCHIVE_ACCESS: 100, DEEP_ARCHIVE_ACCESS: 180 });
    assert.deepEqual(archiveDaysFor(configs, facts("a", [["cold", "no"]])), { ARCHIVE_ACCESS: 200 });
  });
});

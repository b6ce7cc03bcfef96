"""Tatoeba (LASER v1 test set, the 36 XTREME languages) → <data-dir>/tatoeba/.  python -m data_scripts.tatoeba
Files are fetched from LASER's repository at a fixed commit and checked against their sha256.
"""
import argparse
from pathlib import Path

from data_scripts.download import fetch

COMMIT = "74bc6ae7ffb7cba670fe0f428d0ede9f666fb821"  # facebookresearch/LASER
URL = f"https://raw.githubusercontent.com/facebookresearch/LASER/{COMMIT}/data/tatoeba/v1/"
SHA256 = {
    "tatoeba.afr-eng.afr": "7bb9e073ad8422d6bfdec7c9ebdcef8ac486e72b237200e447923a8b921a0a56",
    "tatoeba.afr-eng.eng": "0b700c125efb4030b4cc50d9d765d5884afc24f39296f29b028a1b2a8512034f",
    "tatoeba.ara-eng.ara": "e67a0ae072b79cd9e8eb09f166c3bc0b23488d39f5720f2ee0a8350ae17b719f",
    "tatoeba.ara-eng.eng": "3c11838c963f598a52dcf2f452b666353538257001db5c59c3a5f54a999b336b",
    "tatoeba.ben-eng.ben": "ac3385695d6a6c7e5d18e38ad4b8b7d3780f3df23dd0ff3f539071b8269a8613",
    "tatoeba.ben-eng.eng": "67fbe75fec549d436c3356b6d6f8dd53179b6a908661b5d507d28c7fee83350e",
    "tatoeba.bul-eng.bul": "f9fa90cf3599d8c87f7a6ed22f5d648e3ce6687c705656a8c8ea088d891f79d5",
    "tatoeba.bul-eng.eng": "4b03b3b52ffb7cf4286e0c4453c90910a3021546f160bdf0e4d39d1f45bfbc0b",
    "tatoeba.cmn-eng.cmn": "965d033966fcd186c89741ad49ab4b0a0b2bbd33e02666635ff3b2be23c1ac1f",
    "tatoeba.cmn-eng.eng": "29ba36232488f5806aceccac57c59c5e750ddd08edb40eef417e3ada9ff9a239",
    "tatoeba.deu-eng.deu": "edfa6f75a42554df388f45891735d5e4214158a99def4b73b5908af4a3054551",
    "tatoeba.deu-eng.eng": "eb9cc83a42f2c4b22f310d05311207e41abb56c2a084666cac3ee0f84d2d0b84",
    "tatoeba.ell-eng.ell": "4fb3d3d30bdafd15100dfad5c4680f8f2ed5ca87ed0a6122e2fe2aa21fee65e8",
    "tatoeba.ell-eng.eng": "1f630710e718e2f85a4e757d3c7f3d6e78ded0b25c99653b4c552138318d9ffe",
    "tatoeba.est-eng.eng": "bb033b10596178452aecf2d97ad25580251375e7d224d8b38dad3d93d69b1e4f",
    "tatoeba.est-eng.est": "94856999ef35e5357502d7ecf50419d0108b99270e507d9c57f8b283bd1be9c5",
    "tatoeba.eus-eng.eng": "1e80f0174ad544697fd69ddcf21287ca10c5e3cacba2fc42bf1d68c460d14ba2",
    "tatoeba.eus-eng.eus": "4255fb70a6c268b09fcc59a9b308f0fcaaf45ef45e66fc55bf3c80eac4d8c97b",
    "tatoeba.fin-eng.eng": "322e610359f4d24852e673bbe4524d52c26dbf980aca0760e95c66dc21ecd504",
    "tatoeba.fin-eng.fin": "8db3c734f755d578445947f1182f40faf2a9a0eca37561dd248717c088802d60",
    "tatoeba.fra-eng.eng": "5634220f8a26a9a23b84753a9aec0b0832e6bdaa9da3f83e0bd84c928c3f46e3",
    "tatoeba.fra-eng.fra": "644172ff9642fefa9e41c29b7d6f44196518e84350dc44d4992e943c0cca92b6",
    "tatoeba.heb-eng.eng": "73c27ed0f76c1d2da199230f05489749e10bb67ab879c6dfee8ca9807d6bd99c",
    "tatoeba.heb-eng.heb": "4a07ca4b8a6fb7ab499791573a2454730f47acbe209359d7b9372a9f6094a102",
    "tatoeba.hin-eng.eng": "adfce2269a55dbac69b25c0f4f6eb89e0f9383165485925a2e042e61b9480562",
    "tatoeba.hin-eng.hin": "15e4fb0a394be4438319f1d6955d1aea226e2a8c5ad38798b23b76ae43d742ed",
    "tatoeba.hun-eng.eng": "5323266e91ddee67ed1ae00d6bbac0cdf3d37749d1b2da3459bf0d424bc71383",
    "tatoeba.hun-eng.hun": "56bd0682be8c1db6568313650b3310d641cc8d0019d12dd7caf201302350eeac",
    "tatoeba.ind-eng.eng": "62a3f5127b60eb3526b8fa3994a68fa1a1f114f3a395307a8808a3517c05ffc5",
    "tatoeba.ind-eng.ind": "4f03cd70cba071f746eacd3ebf6b60fd5a8377ce18b4cc52edec6721f05f352a",
    "tatoeba.ita-eng.eng": "738bf8f981e42d285f4f08bc09238782d285b02050e6e95287aa4e998bb7b24b",
    "tatoeba.ita-eng.ita": "9b3f369d0ed92273b46dd3b983721636e3d15024ce7125f5103229249c386d26",
    "tatoeba.jav-eng.eng": "172776353690f6c047ea21da969fa6979980d692fff1cfbac17eb25851423760",
    "tatoeba.jav-eng.jav": "ad88399db8f94c2a040aa53e7e862225964fac9308a3beb3d5b38f3eca2f827f",
    "tatoeba.jpn-eng.eng": "b42129b34e1bf225ccc25fc00e532a6113af98adbc6605b93021bd8aadeb68b6",
    "tatoeba.jpn-eng.jpn": "56040bd6949170a631039d9f8f4c6440db8761b0065c9686feba55c99a320d46",
    "tatoeba.kat-eng.eng": "d70a14aa64fd7c6b545f11aea754a632e1cbecb91af27fcf6a98a8449a48a8e7",
    "tatoeba.kat-eng.kat": "6ef69b5efbf355597ed91eb355b33a5f524bdf0875dbeaaccf6375badc20e29b",
    "tatoeba.kaz-eng.eng": "0ab684e7032c6520540d5785adf00ef206d097221d0dd4dc9bcaabd64068e10d",
    "tatoeba.kaz-eng.kaz": "f20c682582a80b6aa10f3b933db93bc314449b554ce611e263bc75990b319aef",
    "tatoeba.kor-eng.eng": "f900cf3c9b72ed5a400e1804702863ff3df00be58eb060902e02285d0e68fab3",
    "tatoeba.kor-eng.kor": "e550c84184ec35b1a0dab3154284719511a21746e53c40f46eb6ab08179e9188",
    "tatoeba.mal-eng.eng": "4d80cdbb844cd4e33f874e5dc45c1cdda4f80998034448f7eb56b8b6532a6622",
    "tatoeba.mal-eng.mal": "1a896f54f85a454fb0123864049c65921ae9dfd0cafda6deef8060f0104d965e",
    "tatoeba.mar-eng.eng": "709d09b697dca053c814b9d525b72cb47cb011aa860c6598f3e2b1b3dd1280dd",
    "tatoeba.mar-eng.mar": "b2931584fbe62062beb97cc939e4d208ace5ee56f15808860ab14e130fd3c576",
    "tatoeba.nld-eng.eng": "3b8836749df573a53235b85ed6771f31bf2de428f520d2d6a1dd94b61b4ef057",
    "tatoeba.nld-eng.nld": "d564d4ce1c621ccaefdbe9f5cb08eacccc7bf2a0b58666303e84ca9c7973bdb7",
    "tatoeba.pes-eng.eng": "b5c6cf8c8d93ff8f2fe26b53f3ee29b62db9c6f7dcddcb086ba48953f4ce926b",
    "tatoeba.pes-eng.pes": "f1553713723491fe5876e1060b18fb4abf0c77be3ba06db2e3307e83aedbbb32",
    "tatoeba.por-eng.eng": "deb4568cfb7b7cbbc060a7fe97c4639fb4680842f4fcd28df791ffdbb753855a",
    "tatoeba.por-eng.por": "b0c926a232c9889a87a1a970f9399c5618c2d95baf204321e9da794c0aec16f5",
    "tatoeba.rus-eng.eng": "7b26f52d6085b7c4944d6f5f6f5b6e1932085b42112f1444db515ce59e878fb8",
    "tatoeba.rus-eng.rus": "446ff2cae66053c2277d9735b2c2df6b786cae258385f7ade7bed68d8835c6a0",
    "tatoeba.spa-eng.eng": "89e4470f4572040b1ca94b3edad97dcd8bd2f0141f072e12933b8659dadf917d",
    "tatoeba.spa-eng.spa": "f9628cea40481e8251f0999718bd893cff0f261752f5e526b3bc20284e2ca018",
    "tatoeba.swh-eng.eng": "e8539647caff9e329776ae863b6224d432923c6e4e9256b9df92ca58ff282eac",
    "tatoeba.swh-eng.swh": "1c672915446c336cc378676e6dbf91eb54d27bbfd0c61563d349265bc6374753",
    "tatoeba.tam-eng.eng": "e7c5106acdd100214a161970b2a5c31e7386e5b6a963e3d3afdf30412c90ac53",
    "tatoeba.tam-eng.tam": "bde87fb1ddedccf6c7a2b70ffdd19a959a573c113c2e7a041c4b623fb2170bde",
    "tatoeba.tel-eng.eng": "1efc2ef57d9b1ecebfc4baa45e86fd793e38473304e9c043aebabc3a1b29a294",
    "tatoeba.tel-eng.tel": "7e1a1bcd106cce650a09e2f042f1354b55b29bea2bcfa86554dfa0ad12ce8976",
    "tatoeba.tgl-eng.eng": "e7c9beda3f3072a968a34a7226a66d1ebf1dcb33cf002805dc752f80a7c620ae",
    "tatoeba.tgl-eng.tgl": "f99165dc05190b99f6574fe24db884ff85d111612a25e7a37323f001aafc2a6e",
    "tatoeba.tha-eng.eng": "2881c82d2c5fa59cf0a68bc9e012f5e0b0a716f7357cbecf77c247efc2fd7294",
    "tatoeba.tha-eng.tha": "65c7b3c01a56a1ac8971e72e0ea8e74a027718dc84044d8802c0ab36395a3156",
    "tatoeba.tur-eng.eng": "a768df7dd3d1344f872a458b32c3a65e24f8381826ccb16ba6677426176c8121",
    "tatoeba.tur-eng.tur": "1ffa0acc006018b3105abda41a4d4ca42f3c122964a49b71793546367b079a86",
    "tatoeba.urd-eng.eng": "dab35fda3f73b3fd86b6b9f9f9f6242430961aa5d1ac247adbc646867df79cec",
    "tatoeba.urd-eng.urd": "2efc22dc61885a9454aeeee68c8b841c7f9138d53ba644a82308bd210140450b",
    "tatoeba.vie-eng.eng": "a1f60bd8ae6c42224a4c050d2aa1ff4242d14827d64d7831e96ecf2b2c367f5f",
    "tatoeba.vie-eng.vie": "6dbb02d778b0bfc8678cd85f87db76de55dd7e409a26fe32ad42d50e0f1fff77",
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", default="data")
    out = Path(ap.parse_args(argv).data_dir) / "tatoeba"
    for name, digest in SHA256.items():
        fetch(URL + name, out / name, digest)
    print(f"Tatoeba ready in {out} ({len(SHA256) // 2} languages)")


if __name__ == "__main__":
    main()

"""Built-in rules: they ship in code so a fresh install moderates before an
admin writes any rule; `ModerationRule` rows add to them.

Every pattern is matched case-insensitively. Regular expressions ask for
intent, not topic: a threat needs a person as its object ("I will kill you",
not "kill the process"), an instruction request needs a dangerous thing as
its object ("how to make a pipe bomb", not "a bath bomb" or "shoot a
photo"). Word lists match whole words only ("Scunthorpe" holds no slur);
their scores are set so one weak word flags nothing while several together
do (see `rules.score_text`).
"""

from dataclasses import dataclass

from . import categories as c


@dataclass(frozen=True)
class DefaultRule:
    category: str
    kind: str  # "regex" or "words" (one word or phrase per line)
    pattern: str
    score: float = 1.0
    applies_to: str = "both"


def _words(*items: str) -> str:
    return "\n".join(items)


def _any(*alternatives: str) -> str:
    return "(?:" + "|".join(alternatives) + ")"


# A few words of slack between the parts of a phrase.
_GAP = r"(?:\s+[\w'’-]+){0,3}?"
_PERSON = _any(
    r"you",
    r"u",
    r"ya",
    r"y'?all",
    r"him",
    r"her",
    r"them",
    r"everyone",
    r"everybody",
    r"your\s+(?:family|kids?|children|wife|husband|mom|mother|dad|father)",
)
_MODAL = _any(
    r"will",
    r"'ll",
    r"’ll",
    r"shall",
    r"gonna",
    r"going\s+to",
    r"want\s+to",
    r"wanna",
    r"am\s+about\s+to",
    r"plan\s+to",
    r"intend\s+to",
    r"swear\s+to\s+god\s+i'?ll",
)
# Words that turn a threat into its opposite ("I will never hurt you").
_NO_NEGATION = r"(?:\s+(?!never\b|not\b|no\b)[\w'’]+){0,3}?"
_THREAT = (
    r"\b(?:i|we)\s*(?:'m|’m|\s+am|'re|’re|\s+are)?\s*"
    + _MODAL
    + _NO_NEGATION
    + r"\s+"
    + _any(
        r"kill",
        r"murder",
        r"hurt",
        r"stab",
        r"shoot",
        r"strangle",
        r"choke",
        r"rape",
        r"slit",
        r"slaughter",
        r"behead",
        r"torture",
        r"bash\s+in",
        r"burn",
        r"find\s+and\s+kill",
    )
    + r"\s+"
    + _PERSON
    + r"\b"
)
_BREAK_BONES = r"\b(?:break|snap|smash)\s+your\s+(?:neck|legs?|arms?|face|bones|jaw|skull)\b"

_SELF_VERB = _any(
    r"kill(?:ing)?",
    r"hurt(?:ing)?",
    r"harm(?:ing)?",
    r"cut(?:ting)?",
    r"hang(?:ing)?",
    r"shoot(?:ing)?",
    r"off(?:ing)?",
    r"drown(?:ing)?",
    r"starv(?:e|ing)",
    r"burn(?:ing)?",
    r"poison(?:ing)?",
    r"overdos(?:e|ing)",
)
_INTENT = _any(
    r"want",
    r"wanna",
    r"going",
    r"gonna",
    r"plan(?:ning)?",
    r"intend",
    r"decided",
    r"ready",
    r"about",
    r"trying",
    r"tried",
    r"urge",
    r"urges",
    r"thinking\s+(?:about|of)",
    r"think\s+about",
    r"considering",
    r"need",
    r"should",
    r"will",
    r"'ll",
    r"’ll",
)
# A request for instructions. Help-seeking ("help me", "I want to") is kept
# out for self-harm, where it should not read as asking for methods.
_ASK = _any(
    r"how\s+(?:do|can|could|should|would|might)\s+(?:i|you|we|one|someone|somebody|a\s+person)",
    r"how\s+to",
    r"(?:best|easiest|quickest|fastest|surest|painless|least\s+painful)\s+(?:way|method)s?\s+to",
    r"ways?\s+to",
    r"methods?\s+(?:of|for|to)",
    r"teach\s+me(?:\s+how)?\s+to",
    r"tell\s+me\s+how\s+to",
    r"show\s+me\s+how\s+to",
    r"instructions?\s+(?:for|on|to)",
    r"steps?\s+(?:for|to)",
    r"guide\s+(?:for|to|on)",
    r"tutorial\s+(?:for|on)",
    r"recipe\s+for",
)
_HOW = _any(_ASK, r"help\s+me", r"i\s+(?:want|need|wanna)\s+to")
# Slack that refuses words turning the phrase into its opposite
# ("how to stop hurting myself" asks for help, not a method).
_GAP_NOT_STOP = r"(?:\s+(?!stop\b|quit\b|avoid\b|not\b|never\b|resist\b|prevent\b)[\w'’-]+){0,3}?"
# "cut myself a slice", "shoot myself in the foot" are not self-harm.
_MYSELF = r"\s+myself\b(?!\s+(?:a|an|some|another|one|in\s+the\s+foot)\b)"
_MAKE = _any(
    r"make",
    r"making",
    r"build",
    r"building",
    r"assemble",
    r"assembling",
    r"construct(?:ing)?",
    r"create",
    r"creating",
    r"manufactur(?:e|ing)",
    r"produce",
    r"producing",
    r"synthesi[sz](?:e|ing)",
    r"cook",
    r"cooking",
    r"brew",
    r"brewing",
    r"3d[\s-]?print",
    r"extract",
    r"refine",
)
_WEAPON = _any(
    r"(?<!bath\s)(?<!seed\s)(?<!smoke\s)(?<!photo\s)(?<!glitter\s)(?<!cherry\s)(?<!flavor\s)(?<!flavour\s)bombs?"
    r"(?!\s*(?:shelter|squad|disposal|detector|proof|cyclone|calorimeter|jacket|pop|pops)\b)",
    r"explosives",
    r"explosive\s+(?:device|charge|material|compound|vest|powder|mixture)s?",
    r"explosive(?=\s*(?:[?.!,;]|$))",
    r"i\.?e\.?d\.?s?",
    r"detonators?",
    r"blasting\s+caps?",
    r"molotovs?",
    r"napalm",
    r"thermite",
    r"grenades?",
    r"land\s*mines?",
    r"nerve\s+(?:agents?|gas)",
    r"sarin",
    r"vx",
    r"ricin",
    r"anthrax",
    r"mustard\s+gas",
    r"chlorine\s+gas",
    r"poison(?:ous)?\s+gas",
    r"bio[\s-]?weapons?",
    r"biological\s+weapons?",
    r"chemical\s+weapons?",
    r"nuclear\s+(?:bomb|weapon)s?",
    r"ghost\s+guns?",
    r"untraceable\s+(?:gun|firearm|weapon)s?",
    r"silencers?",
    r"(?:gun|firearm|pistol|rifle)\s+suppressors?",
    r"suppressors?\s+for\s+(?:a|my)\s+(?:gun|pistol|rifle)",
    r"zip\s+guns?",
    r"auto\s+sears?",
    r"machine\s+guns?",
    r"tatp",
    r"pipe\s*bombs?",
)
_DRUG = _any(
    r"meth",
    r"methamphetamine",
    r"crystal\s+meth",
    r"crack\s+cocaine",
    r"cocaine",
    r"heroin",
    r"fentanyl",
    r"lsd",
    r"mdma",
    r"ecstasy",
    r"ghb",
    r"dmt",
    r"pcp",
    r"opium",
    r"krokodil",
    r"desomorphine",
    r"amphetamines?",
)
_VICTIM = _any(
    r"someone",
    r"somebody",
    r"a\s+(?:person|human|man|woman|child|kid|cop|police\s+officer)",
    r"people",
    r"him",
    r"her",
    r"them",
    r"my\s+(?:wife|husband|boss|neighbou?r|mom|mother|dad|father|brother|sister|ex|girlfriend|boyfriend|"
    r"teacher|classmate|roommate|coworker|partner|son|daughter|family)",
)
_ILLICIT_ACT = _any(
    r"launder\s+money",
    r"shoplift",
    r"hotwire\s+(?:a\s+)?car",
    r"counterfeit\s+(?:money|bills|currency)",
    r"make\s+(?:a\s+)?fake\s+(?:id|passport|money|driver'?s\s+licen[cs]e)",
    r"forge\s+(?:a\s+)?(?:signature|check|cheque|passport|prescription|documents?)",
    r"commit\s+(?:insurance\s+|tax\s+|credit\s+card\s+)?fraud",
    r"commit\s+(?:identity\s+theft|arson)",
    r"steal\s+(?:a\s+car|someone'?s\s+identity|credit\s+cards?|from\s+(?:a|the)\s+(?:store|shop|register))",
    r"hack\s+(?:into\s+)?(?:someone'?s|somebody'?s|my\s+(?:ex|wife|husband|girlfriend|boyfriend|neighbou?r)'?s?|"
    r"an?\s+other\s+person'?s)\s+(?:\w+\s+)?(?:account|email|phone|facebook|instagram|wifi|computer)",
    r"break\s+into\s+(?:a|someone'?s|my\s+neighbou?r'?s)\s+(?:house|home|car|apartment)",
    r"(?:buy|sell|get|smuggle|traffic)\s+(?:some\s+)?" + _DRUG + r"\b",
    r"poison\s+" + _VICTIM,
    r"get\s+away\s+with\s+(?:killing|murdering)",
    r"dispose\s+of\s+a\s+(?:dead\s+)?body",
    r"hide\s+a\s+(?:dead\s+)?body",
)
_GROUP = _any(
    r"jews",
    r"jewish\s+people",
    r"muslims",
    r"blacks",
    r"black\s+people",
    r"whites",
    r"white\s+people",
    r"asians",
    r"arabs",
    r"mexicans",
    r"immigrants",
    r"refugees",
    r"migrants",
    r"gays",
    r"gay\s+people",
    r"lesbians",
    r"homosexuals",
    r"trans\s+people",
    r"transgenders?",
    r"christians",
    r"hindus",
    r"sikhs",
    r"africans",
    r"chinese",
    r"latinos",
    r"hispanics",
    r"indians",
    r"lgbtq?\+?",
    r"gypsies",
    r"women",
    r"negroes",
    r"catholics",
    r"atheists",
)
# Then refuses "cancer survivors", "disease risk" and the like.
_VERMIN = (
    _any(
        r"animals",
        r"vermin",
        r"parasites?",
        r"subhuman",
        r"sub-human",
        r"(?:a\s+)?plague",
        r"(?:a\s+)?cancer",
        r"(?:a\s+)?disease",
        r"scum",
        r"savages",
        r"cockroaches",
        r"rats",
        r"filth",
        r"filthy",
        r"inferior",
        r"apes",
        r"monkeys",
        r"pigs",
        r"dogs",
        r"trash",
        r"garbage",
        r"evil",
        r"terrorists",
        r"rapists",
        r"(?:a\s+)?virus",
        r"degenerates?",
        r"not\s+(?:human|people)",
    )
    + r"\b(?!\s+(?:survivors?|patients?|research|risk|screening|rates?|cells?|carriers?))"
)
_MINOR = _any(
    r"child(?:ren)?",
    r"kids?",
    r"minors?",
    r"under-?age",
    r"pre-?teens?",
    r"toddlers?",
    r"little\s+(?:girls?|boys?)",
    r"young\s+(?:girls?|boys?)",
    r"school\s*(?:girls?|boys?)",
    r"(?:[1-9]|1[0-7])\s*(?:-|\s)?(?:yo|y/o|yrs?(?:\s|-)*old|years?(?:\s|-)*old)",
)
_MINOR_SEX = _any(
    r"porn\w*",
    r"nudes",
    r"sex\s+(?:with|acts?|abuse\s+material)",
    r"sexual(?:ly)?\s+(?:with|acts?)",
    r"molest\w*",
    r"erotic\w*",
    r"lewd",
    r"blow\s*jobs?",
)
# Nakedness alone also describes bath time and paintings: flagged, but below
# the outright sexual words.
_MINOR_BARE = _any(r"naked", r"nude", r"sexy")

DEFAULT_RULES: tuple[DefaultRule, ...] = (
    # --- threats --------------------------------------------------------
    DefaultRule(c.HARASSMENT_THREATENING, "regex", _THREAT),
    DefaultRule(c.VIOLENCE, "regex", _THREAT, 0.8),
    DefaultRule(c.HARASSMENT_THREATENING, "regex", _BREAK_BONES, 0.8),
    DefaultRule(c.HARASSMENT_THREATENING, "regex", r"\bi\s+know\s+where\s+you\s+(?:live|work|sleep)\b", 0.6),
    DefaultRule(
        c.HARASSMENT_THREATENING, "regex", r"\byou(?:'re|’re|\s+are)\s+(?:so\s+)?dead\s+(?:meat|to\s+me\s+and)\b", 0.7
    ),
    DefaultRule(
        c.HARASSMENT_THREATENING,
        "regex",
        r"\b(?:go|just|should|please|pls|then)\s+(?:go\s+)?(?:kill|hang|off|shoot)\s+yourself\b|\bkys\b",
    ),
    DefaultRule(
        c.VIOLENCE,
        "regex",
        r"\b(?:he|she|they|you|people\s+like\s+(?:you|him|her|them|that)|all\s+of\s+them|"
        r"th(?:at|is)\s+(?:man|woman|guy|bitch|bastard|monster|scum))\s+"
        r"(?:should|must|ought\s+to|need\s+to|deserves?\s+to|needs\s+to)\s+(?:all\s+)?(?:be\s+)?"
        r"(?:killed|shot|hanged|hung|executed|exterminated|lynched|gassed|burned\s+alive|beheaded|slaughtered|tortured)\b"
        r"|\bdeserves?\s+to\s+die\b",
        0.7,
    ),
    # --- self-harm ------------------------------------------------------
    DefaultRule(
        c.SELF_HARM_INTENT,
        "regex",
        r"\b" + _INTENT + r"(?:\s+to)?" + _GAP_NOT_STOP + r"\s+" + _SELF_VERB + _MYSELF,
    ),
    DefaultRule(c.SELF_HARM, "regex", r"\b(?:stop|quit|resist|avoid)\s+" + _SELF_VERB + _MYSELF, 0.7),
    # Ongoing self-injury told in the first person ("I keep cutting myself",
    # "I've been starving myself"); "I kept cutting myself on the broken
    # glass" or "...shaving" are accidents, not self-harm.
    DefaultRule(
        c.SELF_HARM,
        "regex",
        r"\bi(?:'ve|’ve|\s+have)?(?:\s+(?:keep|kept|still|always|often|sometimes|constantly|started|start|began"
        r"|been|am|was|'m|’m|can'?t\s+stop|cannot\s+stop))+\s+"
        + _any(
            r"cutting",
            r"burning",
            r"hurting",
            r"harming",
            r"starving",
            r"hitting",
            r"scratching",
            r"punching",
            r"bruising",
            r"poisoning",
        )
        + _MYSELF
        + r"(?!\s+(?:on|shaving|by\s+accident|accidentally|while|when)\b)",
        0.8,
    ),
    DefaultRule(
        c.SELF_HARM_INTENT,
        "regex",
        _any(
            r"\bi\s+(?:really\s+)?(?:want|wanna|wish)\s+(?:to\s+)?(?:die|be\s+dead|not\s+(?:be\s+alive|exist|wake\s+up))\b",
            r"\bi\s+wish\s+i\s+(?:was|were)\s+(?:dead|never\s+born)\b",
            r"\bi(?:'m|’m|\s+am)\s+(?:so\s+|really\s+|feeling\s+|very\s+)?suicidal\b",
            r"\bi\s+(?:don'?t|do\s+not|no\s+longer)\s+want\s+to\s+(?:live|be\s+alive|exist)\b",
            r"\b(?:end|ending|take|taking)\s+my\s+(?:own\s+)?life\b"
            r"(?!\s+(?:savings|insurance|story|back|in(?:to)?\s+my\s+(?:own\s+)?hands))",
            r"\bend\s+it\s+all\b",
            r"\b(?:thinking|thoughts|thought)\s+(?:about|of)\s+(?:suicide|killing\s+myself|ending\s+my\s+life)\b",
            r"\bno\s+(?:point|reason)\s+(?:in\s+)?(?:living|to\s+(?:live|go\s+on)|being\s+alive)\b",
        ),
        0.9,
    ),
    DefaultRule(
        c.SELF_HARM_INSTRUCTIONS,
        "regex",
        r"\b"
        + _ASK
        + _GAP_NOT_STOP
        + r"\s+"
        + _SELF_VERB
        + r"\s+(?:myself|yourself|oneself|themselves|himself|herself)\b"
        + r"(?!\s+(?:a|an|some|another|one|in\s+the\s+foot)\b)",
    ),
    DefaultRule(
        c.SELF_HARM_INSTRUCTIONS,
        "regex",
        _any(
            r"\b(?:painless|easiest|quickest|fastest|surest|best)\s+(?:way|method)s?\s+(?:to\s+)?"
            r"(?:die|commit\s+suicide|suicide|end\s+(?:my|your|one'?s)\s+life)\b",
            r"\bhow\s+to\s+commit\s+suicide\b",
            r"\bhow\s+(?:many|much)\s+[\w-]+(?:\s+[\w-]+){0,3}?\s+(?:to|would|will|does\s+it\s+take\s+to)\s+"
            r"(?:kill\s+(?:me|myself|a\s+person|someone|you)|overdose|od)\b",
            r"\bsuicide\s+(?:methods?|instructions|guide)\b",
        ),
    ),
    DefaultRule(
        c.SELF_HARM,
        "words",
        _words(
            "cut myself",
            "cutting myself",
            "cut my wrists",
            "cut my wrist",
            "slit my wrists",
            "slit my wrist",
            "burn myself",
            "burning myself",
            "hurt myself on purpose",
            "pro-ana",
            "thinspiration",
            "kill myself",
            "killing myself",
        ),
        0.45,
    ),
    DefaultRule(
        c.SELF_HARM,
        "words",
        _words(
            "self harm",
            "self-harm",
            "selfharm",
            "self harming",
            "self-harming",
            "self injury",
            "self-injury",
            "suicidal",
            "suicide",
            "overdose",
            "anorexia",
            "bulimia",
            "my scars",
            "relapsed",
            "urge to cut",
            "sh scars",
        ),
        0.3,
    ),
    # --- illicit --------------------------------------------------------
    DefaultRule(
        c.ILLICIT_VIOLENT,
        "regex",
        r"\b" + _HOW + _GAP + r"\s+" + _MAKE + r"(?:\s+[\w'’-]+){0,4}?[\s-]+" + _WEAPON + r"(?!\w)",
    ),
    DefaultRule(
        c.ILLICIT_VIOLENT,
        "regex",
        r"\b" + _HOW + _GAP + r"\s+(?:kill|murder|assassinate|stab|strangle|kidnap|abduct)\s+" + _VICTIM + r"\b",
    ),
    DefaultRule(c.ILLICIT, "regex", r"\b" + _HOW + _GAP + r"\s+" + _MAKE + r"(?:\s+[\w'’-]+){0,3}?\s+" + _DRUG + r"\b"),
    DefaultRule(c.ILLICIT, "regex", r"\b" + _HOW + _GAP + r"\s+" + _ILLICIT_ACT + r"(?!\w)", 0.9),
    DefaultRule(
        c.ILLICIT,
        "regex",
        r"\bwhere\s+(?:can|could|do|should)\s+i\s+(?:buy|get|find|score)\s+(?:some\s+)?" + _DRUG + r"\b",
        0.8,
    ),
    DefaultRule(
        c.ILLICIT,
        "regex",
        r"\bwithout\s+(?:getting\s+caught|being\s+caught|leaving\s+(?:a\s+|any\s+)?(?:trace|evidence))\b",
        0.4,
    ),
    # --- sexual content involving minors ---------------------------------
    DefaultRule(c.SEXUAL_MINORS, "regex", r"\b" + _MINOR + r"(?:\W+\w+){0,3}?\W+" + _MINOR_SEX + r"(?!\w)"),
    DefaultRule(c.SEXUAL_MINORS, "regex", r"\b" + _MINOR_SEX + r"(?:\W+\w+){0,3}?\W+" + _MINOR + r"\b"),
    DefaultRule(
        c.SEXUAL_MINORS,
        "regex",
        r"\b"
        + _MINOR
        + r"(?:\W+\w+){0,3}?\W+"
        + _MINOR_BARE
        + r"(?!\w)|\b"
        + _MINOR_BARE
        + r"(?:\W+\w+){0,3}?\W+"
        + _MINOR
        + r"\b",
        0.6,
    ),
    DefaultRule(
        c.SEXUAL_MINORS,
        "regex",
        r"\b(?:teens?|teenagers?|teenage)(?:\W+\w+){0,2}?\W+(?:porn\w*|nudes?|naked|sexy|xxx|fuck\w*)"
        r"|\b(?:porn\w*|nudes?|xxx|sexy)(?:\W+\w+){0,2}?\W+(?:teens?|teenagers?|teenage)\b",
        0.7,
    ),
    DefaultRule(
        c.SEXUAL_MINORS,
        "words",
        _words(
            "lolicon",
            "shotacon",
            "jailbait",
            "pthc",
            "child porn",
            "child pornography",
            "kiddie porn",
            "csam",
            "cp porn",
        ),
    ),
    DefaultRule(c.SEXUAL_MINORS, "words", _words("pedophile", "paedophile", "pedo", "pedophilia"), 0.3),
    # --- sexual ---------------------------------------------------------
    DefaultRule(
        c.SEXUAL,
        "words",
        _words(
            "blowjob",
            "blow job",
            "blowjobs",
            "handjob",
            "hand job",
            "cumshot",
            "cumshots",
            "creampie",
            "deepthroat",
            "gangbang",
            "gang bang",
            "bukkake",
            "anal sex",
            "fuck me",
            "suck my dick",
            "suck my cock",
            "pornhub",
            "xvideos",
            "xhamster",
            "femdom",
            "sex chat",
            "fuck buddy",
            "sex slave",
            "nsa sex",
            "phone sex",
            "hardcore sex",
            "pussy licking",
            "wet pussy",
            "hard cock",
            "big cock",
            "big tits",
            "jerk off",
            "jerking off",
            "cum in",
            "hot sex",
        ),
        0.6,
    ),
    DefaultRule(
        c.SEXUAL,
        "words",
        _words(
            "porn",
            "porno",
            "pornos",
            "pornography",
            "pornographic",
            "pornstar",
            "xxx",
            "hentai",
            "milf",
            "milfs",
            "horny",
            "pussy",
            "cock",
            "cocks",
            "tits",
            "titties",
            "boobs",
            "dildo",
            "clit",
            "orgasm",
            "orgasms",
            "masturbate",
            "masturbating",
            "masturbation",
            "erotic",
            "erotica",
            "threesome",
            "bdsm",
            "camgirl",
            "cam girl",
            "nude",
            "nudes",
            "slut",
            "sluts",
            "whore",
            "escort",
            "escorts",
            "hookup",
            "hookups",
            "sexe",
            "salope",
            "baise",
            "ficken",
            "gefickt",
            "seks",
            "sexo",
            "strip club",
            "stripper",
            "onlyfans",
            "nsfw",
            "naked",
            "sexy",
            "cum",
            "fucked",
            "fucking",
            "nipples",
            "orgy",
            "bbw",
            "booty",
            "sex",
        ),
        0.25,
    ),
    # --- hate -----------------------------------------------------------
    DefaultRule(
        c.HATE,
        "words",
        _words(
            "nigger",
            "niggers",
            "sand nigger",
            "kike",
            "kikes",
            "spic",
            "spics",
            "chink",
            "chinks",
            "gook",
            "gooks",
            "wetback",
            "wetbacks",
            "raghead",
            "ragheads",
            "towelhead",
            "towelheads",
            "faggot",
            "faggots",
            "beaner",
            "beaners",
            "jigaboo",
            "porch monkey",
            "zipperhead",
            "blackies",
            "darkies",
            "muzzie",
            "muzzies",
            "untermensch",
            "heil hitler",
            "sieg heil",
            "tranny",
            "trannies",
            "white power",
            "white genocide",
            "race traitor",
            "mud people",
            "shitskin",
            "shitskins",
            "subhumans",
        ),
        0.9,
    ),
    DefaultRule(
        c.HATE,
        "words",
        _words(
            "nigga",
            "niggas",
            "fag",
            "fags",
            "dyke",
            "dykes",
            "coon",
            "coons",
            "paki",
            "pakis",
            "negro",
            "negroes",
            "retards",
            "jew them down",
            "goyim",
            "zionist pigs",
        ),
        0.4,
    ),
    DefaultRule(
        c.HATE,
        "regex",
        r"\b"
        + _GROUP
        + r"\s+(?:are|is)\s+(?:all\s+|just\s+|nothing\s+but\s+|such\s+|a\s+bunch\s+of\s+|the\s+|like\s+)?"
        r"(?:[\w-]+\s+)?" + _VERMIN,
        0.8,
    ),
    DefaultRule(
        c.HATE,
        "regex",
        r"\b(?:holocaust|shoah)\s+(?:is|was)\s+(?:a\s+|just\s+a\s+)?(?:hoax|lie|myth|fraud|fake|fabrication|never\s+happened)\b"
        r"|\bholocaust\s+never\s+happened\b",
        0.8,
    ),
    DefaultRule(
        c.HATE,
        "regex",
        r"\bgo\s+back\s+to\s+(?:africa|mexico|china|india|your\s+(?:own\s+)?(?:country|shithole)|where\s+(?:you|they)\s+came\s+from)\b",
        0.7,
    ),
    DefaultRule(
        c.HATE_THREATENING,
        "regex",
        r"\b" + _GROUP + r"\s+(?:should|must|need\s+to|ought\s+to|deserve\s+to)\s+(?:all\s+)?(?:be\s+)?"
        r"(?:killed|die|exterminated|gassed|shot|hanged|hung|lynched|wiped\s+out|eradicated|burned|slaughtered|eliminated)\b",
    ),
    DefaultRule(
        c.HATE_THREATENING,
        "regex",
        r"\b(?:kill|exterminate|gas|lynch|hang|eradicate|wipe\s+out|slaughter|nuke)\s+(?:all\s+)?"
        r"(?:the\s+|those\s+|these\s+|of\s+the\s+)?" + _GROUP + r"\b",
    ),
    # --- harassment -----------------------------------------------------
    DefaultRule(
        c.HARASSMENT,
        "regex",
        r"\byou(?:'re|’re|\s+are|r|re)?\s+(?:(?:such|a|an|so|the|fucking|fuckin|fuckin'|total|complete|absolute|"
        r"stupid|dumb|little|worthless|pathetic|ugly|fat)\s+)*"
        r"(?:idiot|moron|retard|loser|stupid|dumb|dumbass|imbecile|piece\s+of\s+(?:shit|crap|garbage|trash)|worthless|"
        r"pathetic|bitch|cunt|whore|slut|bastard|asshole|scum|trash|ugly|fat\s+pig|waste\s+of\s+(?:space|air|oxygen)|"
        r"disgusting|freak)\b",
        0.8,
    ),
    DefaultRule(
        c.HARASSMENT,
        "regex",
        r"\b(?:nobody|no\s+one)\s+(?:likes|loves|cares\s+about|would\s+miss)\s+you\b"
        r"|\b(?:everyone|everybody)\s+hates\s+you\b",
        0.6,
    ),
    # --- graphic violence -------------------------------------------------
    DefaultRule(
        c.VIOLENCE_GRAPHIC,
        "words",
        _words(
            "gore",
            "disemboweled",
            "disembowelled",
            "disembowel",
            "dismembered",
            "dismember",
            "decapitated",
            "beheaded",
            "entrails",
            "guts spilled",
            "brains splattered",
            "skull crushed",
            "blood everywhere",
            "bloodbath",
            "mutilated",
            "mutilation",
            "torn limb from limb",
            "flayed",
            "eyes gouged",
        ),
        0.35,
    ),
    DefaultRule(
        c.VIOLENCE,
        "words",
        _words(
            "murder",
            "murdered",
            "kill them",
            "stab",
            "stabbed",
            "massacre",
            "bloodshed",
            "lynch",
            "lynching",
            "execute them",
            "genocide",
            "ethnic cleansing",
            "war crimes",
            "torture",
            "tortured",
            "beat him",
            "beat her",
            "shoot them",
            "wiped out",
        ),
        0.2,
    ),
)

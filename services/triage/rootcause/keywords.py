"""Built-in keywords per default root cause, in English and Bengali: precise evidence when they appear.

A keyword matches where a word starts (``charge`` finds "charged", ``ডেলিভারি`` finds
"ডেলিভারিতে"), so short Bengali keywords that begin other words are avoided (বিল would find বিলম্ব,
delay: the bill's inflected forms are listed instead). All are lower case and NFC, as the text
they are matched against.
"""

from __future__ import annotations

from shared.language import normalize

KEYWORDS_EN: dict[str, tuple[str, ...]] = {
    "product_defect": ("broken", "broke", "defect", "faulty", "stopped working", "doesn't work", "cracked",
                       "damaged", "malfunction", "leak", "crack", "dead on arrival", "quality", "snapped",
                       "overheat", "fell apart", "came apart", "won't turn on", "not working"),
    "delivery_logistics": ("delivery", "delivered", "courier", "parcel", "package", "shipping", "tracking",
                           "late", "arrived", "driver", "lost in transit", "shipment", "shipped", "dispatch",
                           "postman", "depot", "wrong address", "never arrived"),
    "billing_payment": ("charged", "charge", "invoice", "refund", "billing", "payment", "overcharged",
                        "double", "bill", "subscription", "debited", "receipt", "statement", "instalment",
                        "installment", "direct debit", "credit card"),
    "staff_conduct": ("rude", "impolite", "unprofessional", "attitude", "shouted", "ignored me", "agent was",
                      "condescending", "arrogant", "insulted", "aggressive", "dismissive", "disrespectful",
                      "patronising", "patronizing", "swore", "yelled", "laughed at"),
    # not "slow" or "waiting" alone: a slow website or a parcel still awaited is another cause
    "slow_response": ("no reply", "no response", "waiting for a reply", "waiting for an answer",
                      "waiting for a response", "waiting for someone", "kept me waiting", "on hold",
                      "days to answer", "slow to respond", "slow to reply", "slow response", "never answered",
                      "no answer", "never replied", "never heard back", "get back to me", "got back to me",
                      "no update", "never called back", "still no reply", "still no answer"),
    "onboarding_docs": ("instructions", "manual", "documentation", "docs", "setup", "set up", "confusing",
                        "how to", "tutorial", "guide", "assemble", "assembly", "install", "unclear",
                        "explain", "figure out"),
    "website_app": ("website", "app", "login", "log in", "page", "crash", "error", "checkout", "button",
                    "password", "site", "sign in", "logged out", "online", "portal", "browser", "freez",
                    "verification code", "cart", "basket"),
    "pricing_value": ("expensive", "price", "overpriced", "cost", "value for money", "cheaper", "pricey",
                      "too much", "rip off", "rip-off", "worth", "costly"),
    "policy": ("policy", "return window", "warranty", "terms", "not allowed", "rules", "guarantee",
               "restocking", "non-refundable", "exchange", "cancellation fee", "refused to"),
}

KEYWORDS_BN: dict[str, tuple[str, ...]] = {
    "product_defect": ("নষ্ট হয়ে", "ভেঙে", "ভেঙ্গে", "ভাঙা", "ভাঙ্গা", "ত্রুটি", "ফাটা", "ফেটে", "চালু হয় না",
                       "চালু হচ্ছে না", "কাজ করে না", "কাজ করছে না", "নিম্নমান", "ডিফেক্ট", "লিক", "মরিচা",
                       "ছিঁড়ে", "পুড়ে", "খুলে গেছে", "খুলে পড়ে", "গরম হয়ে যায়"),
    "delivery_logistics": ("ডেলিভারি", "কুরিয়ার", "পার্সেল", "প্যাকেট", "শিপিং", "শিপমেন্ট", "ট্র্যাকিং",
                           "পৌঁছায়নি", "পৌঁছেনি", "রাইডার", "ঠিকানা", "দেরিতে এসেছে", "হাতে পাইনি", "এখনো পাইনি",
                           "পাঠানো হয়নি", "গুদাম", "ডেলিভারিম্যান"),
    "billing_payment": ("টাকা কেটে", "কেটে নিয়েছে", "কেটেছে", "চার্জ", "বিলে", "বিলের", "বিলটা", "বিলিং",
                        "ইনভয়েস", "রিফান্ড", "পেমেন্ট", "দুইবার", "দুবার", "লেনদেন", "সাবস্ক্রিপশন", "বিকাশ",
                        "নগদে", "রকেট", "ক্যাশব্যাক", "বকেয়া"),
    "staff_conduct": ("অভদ্র", "খারাপ ব্যবহার", "বাজে ব্যবহার", "দুর্ব্যবহার", "বেয়াদব", "চিৎকার", "ধমক",
                      "গালাগালি", "গালি", "অপমান", "আচরণ", "তাচ্ছিল্য", "অসৌজন্য", "মিথ্যা বলে", "হুমকি",
                      "অহংকার", "পাত্তা"),
    "slow_response": ("উত্তর দেয়নি", "উত্তর পাইনি", "উত্তর নেই", "উত্তর আসেনি", "সাড়া", "জবাব", "রিপ্লাই",
                      "অপেক্ষা", "হোল্ড", "ফোন ধরে না", "কেউ ধরে না", "যোগাযোগ করেনি", "কল ব্যাক",
                      "কোনো খবর পাইনি", "জানায় না", "সিন করে"),
    "onboarding_docs": ("নির্দেশনা", "নির্দেশিকা", "ম্যানুয়াল", "গাইড", "সেটআপ", "ইনস্টল", "কীভাবে", "কিভাবে",
                        "বোঝা যায় না", "বুঝতে পারছি না", "বুঝতে পারিনি", "ব্যবহারবিধি", "টিউটোরিয়াল",
                        "ডকুমেন্টেশন", "বিভ্রান্তিকর", "ব্যাখ্যা", "জোড়া লাগা"),
    "website_app": ("অ্যাপ", "এ্যাপ", "ওয়েবসাইট", "সাইট", "লগইন", "লগ ইন", "লগআউট", "পাসওয়ার্ড", "ক্র্যাশ",
                    "এরর", "পেজ", "বাটন", "ওটিপি", "চেকআউট", "হ্যাং", "লোড হয় না", "লোড হচ্ছে না", "কার্ট",
                    "লিংক"),
    "pricing_value": ("দাম", "দামি", "খরচ", "ব্যয়বহুল", "সস্তা", "গলাকাটা", "মূল্য", "টাকার তুলনায়",
                      "পোষায় না", "যোগ্য না", "দ্বিগুণ"),
    "policy": ("নীতি", "পলিসি", "ওয়ারেন্টি", "গ্যারান্টি", "শর্ত", "নিয়ম", "চুক্তি", "রিটার্ন", "ফেরত নেয় না",
               "ফেরত নিল না", "বদলে দেবে না", "বদলাতে দিল না", "স্টোর ক্রেডিট", "জরিমানা", "মেয়াদ"),
}


def _merged() -> dict[str, tuple[str, ...]]:
    codes = dict.fromkeys([*KEYWORDS_EN, *KEYWORDS_BN])
    return {code: tuple(dict.fromkeys(normalize(k) for k in KEYWORDS_EN.get(code, ()) + KEYWORDS_BN.get(code, ())))
            for code in codes}


# every cause's keywords in both languages
BUILTIN_KEYWORDS: dict[str, tuple[str, ...]] = _merged()
